#!/usr/bin/env python3
"""Makes the chat-template reference fixtures under tests/data/chat/ with Python jinja2, configured
exactly as transformers configures it (transformers' own compile and render functions are called).

  /work/venv/bin/python tools/chat_make_fixtures.py --shared ../shared --out tests/data/chat

Writes:
  jinja_cases.json          small templates exercising one feature each -> output or error
  conversations.json        the conversations rendered through every shared template
  expected/<template>.json  per template: conversation name -> {"output": str} or {"error": str, "type": str}
strftime_now is pinned to FIXED_TIME (the C++ tests pin the same time).
"""
import argparse
import datetime as _dt
import json
import pathlib

from transformers.utils import chat_template_utils as ctu

FIXED_TIME = _dt.datetime(2025, 3, 14, 9, 26, 53)


class _FixedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_TIME


ctu.datetime = _FixedDatetime  # strftime_now() in transformers calls datetime.now()

BOS, EOS = "<s>", "</s>"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a time zone.",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
}


def call(id_, name, args):
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": args}}


CONVERSATIONS = [
    {"name": "single_user", "messages": [{"role": "user", "content": "Hello!"}], "add_generation_prompt": True},
    {"name": "system_user", "messages": [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "What is 2+2?"}], "add_generation_prompt": True},
    {"name": "multi_turn", "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke."}], "add_generation_prompt": True},
    {"name": "multi_turn_no_system", "messages": [
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": "First answer"},
        {"role": "user", "content": "Second question"},
        {"role": "assistant", "content": "Second answer"},
        {"role": "user", "content": "Third question"}], "add_generation_prompt": True},
    {"name": "no_generation_prompt", "messages": [
        {"role": "user", "content": "Ping"},
        {"role": "assistant", "content": "Pong"}], "add_generation_prompt": False},
    {"name": "content_parts", "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "Describe this image:"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            {"type": "text", "text": "Be brief."}]}], "add_generation_prompt": True},
    {"name": "tool_call", "tools": [WEATHER_TOOL], "messages": [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [call("call12345", "get_weather", {"location": "Paris"})]},
        {"role": "tool", "tool_call_id": "call12345", "name": "get_weather", "content": "{\"temperature\": 18}"}],
     "add_generation_prompt": True},
    {"name": "tools_two_calls", "tools": [WEATHER_TOOL, TIME_TOOL], "messages": [
        {"role": "system", "content": "Use tools when needed."},
        {"role": "user", "content": "Weather and time in Tokyo?"},
        {"role": "assistant", "content": "", "tool_calls": [
            call("callAAAA1", "get_weather", {"location": "Tokyo", "unit": "celsius"}),
            call("callBBBB2", "get_time", {"tz": "Asia/Tokyo"})]},
        {"role": "tool", "tool_call_id": "callAAAA1", "name": "get_weather", "content": "22 C, sunny"},
        {"role": "tool", "tool_call_id": "callBBBB2", "name": "get_time", "content": "14:05"},
        {"role": "assistant", "content": "It is 22 C and sunny; the time is 14:05."},
        {"role": "user", "content": "Thanks"}], "add_generation_prompt": True},
    {"name": "tools_only_user", "tools": [WEATHER_TOOL], "messages": [
        {"role": "user", "content": "Is it raining in Berlin?"}], "add_generation_prompt": True},
    {"name": "thinking_history", "messages": [
        {"role": "user", "content": "What is 17*3?"},
        {"role": "assistant", "content": "51", "reasoning_content": "17*3 = 51."},
        {"role": "user", "content": "And 17*4?"}], "add_generation_prompt": True},
    {"name": "thinking_disabled", "messages": [
        {"role": "user", "content": "Quick answer: capital of France?"}],
     "add_generation_prompt": True, "extra": {"enable_thinking": False}},
    {"name": "think_tags_in_content", "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "<think>\nThe user greets.\n</think>\n\nHello there!"},
        {"role": "user", "content": "Bye"}], "add_generation_prompt": True, "extra": {"enable_thinking": True}},
    {"name": "chinese", "messages": [
        {"role": "system", "content": "你是一个乐于助人的助手。"},
        {"role": "user", "content": "请用中文介绍一下上海。"},
        {"role": "assistant", "content": "上海是中国最大的城市之一，位于长江入海口。"},
        {"role": "user", "content": "谢谢！"}], "add_generation_prompt": True},
    {"name": "empty_content", "messages": [
        {"role": "user", "content": ""},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "  spaced  "}], "add_generation_prompt": True},
    {"name": "special_characters", "messages": [
        {"role": "user", "content": "Quotes ' and \" and backslash \\ and {{ braces }} {% tags %}\n\ttab line"}],
     "add_generation_prompt": True},
    {"name": "continue_final_message", "messages": [
        {"role": "user", "content": "Write a haiku about rain."},
        {"role": "assistant", "content": "Soft rain on the roof"}],
     "add_generation_prompt": False, "continue_final_message": True},
    # transformers strips the final message with Python's str.strip(): Unicode spaces too.
    {"name": "continue_final_message_unicode_space", "messages": [
        {"role": "user", "content": "Write a haiku about rain."},
        {"role": "assistant", "content": "\u00a0Soft rain on the roof\u2028"}],
     "add_generation_prompt": False, "continue_final_message": True},
    # Content as a list of parts holding characters Python's repr() escapes (templates that print the list).
    {"name": "content_parts_unprintable", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "a\u00a0b\u200bc\u2028d\u0085e\u00adf\ufeffg\u3000h é中😀"}]}],
     "add_generation_prompt": True},
    {"name": "tools_flat_format", "tools": [
        {"name": "internet_search", "description": "Returns a list of relevant document snippets.",
         "parameter_definitions": {"query": {"description": "Query to search the internet with", "type": "str",
                                             "required": True}}},
        {"name": "directly_answer", "description": "Answer without any tool.", "parameter_definitions": {}}],
     "messages": [
        {"role": "system", "content": "You are a research assistant."},
        {"role": "user", "content": "Who won the 2018 World Cup?"}], "add_generation_prompt": True},
    {"name": "documents", "documents": [
        {"title": "Tall penguins", "text": "Emperor penguins are the tallest."},
        {"title": "Penguin habitats", "text": "Emperor penguins only live in Antarctica."}], "messages": [
        {"role": "user", "content": "What are the tallest living penguins?"}], "add_generation_prompt": True},
]

JINJA_CASES = [
    # whitespace control: trim_blocks, lstrip_blocks, -, +
    ("ws_trim_blocks", "{% if true %}\nyes\n{% endif %}\nend", {}),
    ("ws_lstrip_blocks", "  {% if true %}\n  a\n  {% endif %}\nb", {}),
    ("ws_minus", "x  {%- if true -%}  y  {%- endif -%}  z", {}),
    ("ws_plus", "  {%+ if true +%}\nkeep\n{% endif %}", {}),
    ("ws_var_minus", "a \n {{- 'b' -}} \n c", {}),
    ("ws_var_no_lstrip", "  {{ 'v' }}\n  x", {}),
    ("ws_comment", "a\n  {# note #}\nb {#- x -#} c", {}),
    ("ws_trailing_newline", "line\n", {}),
    ("ws_crlf", "a\r\nb{% if true %}\r\nc{% endif %}", {}),
    ("raw_block", "{% raw %}{{ not parsed }} {% if %}{% endraw %}!", {}),
    ("raw_block_whitespace", "{% raw %}\nx\n  {% endraw %}|{% raw -%}  y  {%- endraw %}|{% raw %}z\n  {%+ endraw %}|\n  {% raw %}  w  {% endraw %}", {}),
    # expressions
    ("literals", "{{ 1 }} {{ -2 }} {{ 1.5 }} {{ 1e3 }} {{ 'a' 'b' }} {{ true }} {{ none }} {{ [1, 'x', none, false] }} {{ {'k': 1, 'j': [2]} }} {{ (1,) }} {{ (1, 2) }}", {}),
    ("float_repr", "{{ 0.1 + 0.2 }} {{ 1/3 }} {{ 1e-5 }} {{ 1e16 }} {{ 2.0 * 3 }} {{ 10 / 2 }} {{ 1e100 }} {{ 123456789.125 }}", {}),
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 1 + True }}", {}),
    ("string_ops", "{{ 'a' ~ 1 ~ none ~ x }} {{ 'ab' * 3 }} {{ [1] + [2, 3] }} {{ 'abc' + 'def' }}", {}),
    ("repeat_empty_huge", "{{ ('' * 9999999999999)|length }}|{{ ([] * 9999999999999)|length }}|{{ (() * 99999999999)|length }}|{{ 'ab' * 0 }}|{{ [1] * -1 }}|{{ 'ab' * 2 }}", {}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] == [1, 2] }} {{ 'x' in 'xyz' }} {{ 3 not in [1, 2] }} {{ 'k' in {'k': 1} }}", {}),
    ("logic", "{{ 0 or 'b' }} {{ 'a' and 'b' }} {{ not none }} {{ none or [] }} {{ 1 if false }}|{{ 'y' if 1 else 'n' }}", {}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 'a' ~ (1 + 2) }} {{ not 1 == 2 }} {{ [1,2,3]|length - 1 }}", {}),
    ("subscript_slice", "{{ s[0] }}{{ s[-1] }} {{ s[1:3] }} {{ s[::-1] }} {{ l[1:] }} {{ l[:-1] }} {{ l[::2] }} {{ l[-2:] }} {{ s[10:] }}|", {"s": "héllo", "l": [1, 2, 3, 4]}),
    ("attribute_item", "{{ d.a }} {{ d['a'] }} {{ d.b.c }} {{ l.0 }} {{ d.missing }}|{{ d['missing'] }}|{{ l[9] }}|", {"d": {"a": 1, "b": {"c": "deep"}}, "l": [5]}),
    ("dict_methods", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {{ d.keys()|list }} {{ d.values()|list }} {{ d.get('a') }} {{ d.get('z', 'dflt') }} {{ d.get('z') }}", {"d": {"b": 2, "a": 1}}),
    ("dict_items_key", "{{ d['items'] }} {{ d.items()|list }} {{ d.items is callable }}", {"d": {"items": [1]}}),
    ("string_methods", "{{ ' x y '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'a\\n\\n'.rstrip('\\n') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'Hello'.startswith('He') }}|{{ 'Hello'.endswith(('lo', 'x')) }}|{{ 'MiXed'.upper() }}{{ 'MiXed'.lower() }}|{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'héllo'.find('l') }}|{{ 'abcabc'.count('b') }}|{{ '-'.join(['a', 'b']) }}|{{ 'a\\nb'.splitlines() }}|{{ 'a/b/c'.rsplit('/', 1) }}", {}),
    ("unicode_strings", "{{ s|length }} {{ s|upper }} {{ s[1] }} {{ s|reverse }} {{ '中文'|length }} {{ ' 全角\u3000'.strip() }}|", {"s": "ñandú"}),
    ("repr_unprintable", "{{ l }} {{ d }}", {"l": ["a\u00a0b\u200bc\u2028\u0085\u00ad\ufeff\u3000 é中😀\x7f\x01'"], "d": {"k\u200b": "v\u0000"}}),
    ("string_method_ranges", "{{ 'hello'.startswith('ell', 1) }}|{{ 'hello'.endswith('ll', 0, 4) }}|{{ 'hello'.find('l', 3) }}|{{ 'hello'.count('l', 3) }}|{{ 'hello'.rfind('l', 0, 3) }}|{{ 'héllo'.find('l', -2) }}|{{ 'hello'.startswith('', 6) }}|{{ 'hello'.count('', 2, 4) }}|{{ 'hello'.find('', 5) }}|{{ 'hello'.find('', 6) }}|{{ 'ab'.endswith(('x', 'a'), 0, 1) }}|{{ 'hello'.index('l', 3) }}", {}),
    ("string_affix_multibyte", "{{ 'ab'.endswith('éé') }}|{{ 'ab'.startswith('éé') }}|{{ 'aéb'.endswith('éb') }}|{{ 'aéé'.startswith('aé', 0, 1) }}|{{ 'éa'.endswith('é', 0, 1) }}|{{ 'xé'.endswith(('q', 'é'), 1) }}|{{ 'é'.endswith('xé') }}|{{ '中'.startswith('中文') }}|{{ 'aé'.startswith('é', 1) }}", {}),
    ("string_splitlines_keepends", "{{ 'a\nb\r\nc\rd'.splitlines(true) }}|{{ 'a\nb'.splitlines(keepends=true) }}|{{ 'a\n'.splitlines(false) }}", {}),
    ("filter_round", "{{ 2.675|round(2) }}|{{ 7|round }}|{{ 2.5|round }}|{{ 3.5|round }}|{{ -2.5|round }}|{{ 0.125|round(2) }}|{{ 1234|round(-2) }}|{{ 1250|round(-2) }}|{{ 2.7|round(0, 'floor') }}|{{ 2.1|round(0, 'ceil') }}|{{ 7|round(1, 'floor') }}|{{ 1.05|round(1) }}", {}),
    ("format_width_precision", "{{ '%5s|%-5s|%.2s|%6.3s|%-4r|%s' % ('ab', 'cd', 'xyz', 'héllo', 'q', 'plain') }}|{{ '%3s' % 'é' }}|", {}),
    ("format_spec_precision_forms", "{{ '%5.d' % 3 }}|{{ '%.d' % 3 }}|{{ '%-8.3f' % 2.5 }}|{{ '%.0s' % 'abc' }}|{{ '%.s' % 'abc' }}|{{ '%-3.1s' % 'éa' }}|{{ '%300d' % 1 }}|{{ '%.400f' % 1e308 }}|", {}),
    ("format_integers_python", "{{ '%x|%X|%#o|%#x|%+d|% d|%05d|%-5d|%.3x|%d|%d|%#X|%+#08x|% .4o|%.0d|%i' % (-255, -255, -8, 255, 5, 5, -42, -42, 10, 9.3e18, -1.5, 255, 255, -8, 0, true) }}", {}),
    ("format_char", "{{ '%c' % 200 }}{{ '%c' % 20013 }}{{ '%-3c|' % 'é' }}{{ '%03c|' % 65 }}{{ '%c' % '中' }}", {}),
    ("format_char_out_of_range", "{{ '%c' % 1114112 }}", {}),
    ("format_hex_of_float", "{{ '%x' % 1.5 }}", {}),
    ("format_unused_argument", "{{ 'a' % 5 }}", {}),
    ("format_unused_mapping_like", "{{ 'a' % [] }}|{{ 'a' % {'k': 1} }}|{{ 'a' % () }}|{{ '%%' % () }}", {}),
    ("format_spec_two_dots", "{{ '%1..s' % 'x' }}", {}),
    ("format_spec_dot_then_dot", "{{ '%.5.3s' % 'xyzxyz' }}", {}),
    ("filter_attribute_index_paths", "{{ [[1, 2]]|map(attribute='1')|list }}|{{ ([[1]]|map(attribute='99999999999999999999')|first) is undefined }}|{{ [{'a': [5, 6]}]|map(attribute='a.1')|list }}|{{ [[3]]|sum(attribute='0') }}", {}),
    ("filter_attr", "{% set ns = namespace(a=3) %}{{ d|attr('name') }}|{{ d|attr('items') is callable }}|{{ 'ab'|attr('upper') is callable }}|{{ ns|attr('a') }}|", {"d": {"name": "x"}}),
    ("string_classes_unicode", "{{ '٣'.isdigit() }}{{ 'é'.isalpha() }}{{ 'é1'.isalnum() }}{{ '中文'.isalpha() }}{{ 'Ⅻ'.isnumeric() }}{{ '12'.isdecimal() }}{{ ''.isalpha() }}{{ 'a b'.isalpha() }}{{ 'aé'.islower() }}{{ 'ÀB'.isupper() }}|{{ 'a-b c_d é ٣4'|wordcount }}", {}),
    ("filter_int_python", "{{ '1_000'|int }}|{{ '٣'|int }}|{{ '0b101'|int(base=0) }}|{{ '0x_1f'|int(0, 0) }}|{{ '012'|int }}|{{ '012'|int(0, 0) }}|{{ '1__0'|int }}|{{ '_1'|int }}|{{ '1_'|int }}|{{ ' -7 '|int }}|{{ '0x1A'|int(0, 16) }}|{{ '1A'|int(0, 16) }}|{{ 'z'|int(0, 36) }}|{{ '3.9'|int }}", {}),
    ("filter_tojson_ensure_ascii", "{{ d|tojson(true) }}|{{ d|tojson(ensure_ascii=true, indent=1) }}|{{ d|tojson(false) }}", {"d": {"é": "中文😀\u00a0", "k": [1, "ü"]}}),
    ("tests_case_unicode", "{{ '' is lower }}{{ '' is upper }}{{ '1' is lower }}{{ 'a1' is lower }}{{ 'A1' is upper }}{{ 'ǅ' is upper }}{{ 'é' is lower }}{{ 'aB' is lower }}", {}),
    ("string_escapes", "{{ 'a\\tb' }}|{{ \"q\\\"q\" }}|{{ 'it\\'s' }}|{{ '\\u00e9\\x41' }}|{{ '\\d' }}", {}),
    # filters
    ("filter_default", "{{ x|default('d') }} {{ none|default('d') }} {{ ''|default('d', true) }} {{ 0|d(5) }} {{ y|default(1) }}", {"y": 0}),
    ("filter_length_first_last", "{{ l|length }} {{ l|first }} {{ l|last }} {{ 'abc'|first }} {{ d|length }} {{ u|length }}", {"l": [3, 4, 5], "d": {"a": 1}}),
    ("filter_join", "{{ l|join }} {{ l|join(', ') }} {{ users|join(', ', attribute='name') }}", {"l": [1, 2, 3], "users": [{"name": "a"}, {"name": "b"}]}),
    ("filter_map_select", "{{ users|map(attribute='name')|list }} {{ users|selectattr('admin')|map(attribute='name')|join }} {{ users|rejectattr('admin')|list|length }} {{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3]|reject('equalto', 2)|list }} {{ ['a', 'B']|map('upper')|list }} {{ users|selectattr('name', 'equalto', 'b')|list }}", {"users": [{"name": "a", "admin": True}, {"name": "b", "admin": False}]}),
    ("filter_tojson", "{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ d|tojson(separators=(',', ':')) }}|{{ 'é\"<>&\\n'|tojson }}|{{ [1.0, 2.5, none, true]|tojson }}|{{ {}|tojson(indent=4) }}|{{ d|tojson(sort_keys=true) }}", {"d": {"z": 1, "a": [1, {"b": None}], "u": "中文"}}),
    ("filter_string_int_float", "{{ 12|string }} {{ '42'|int + 1 }} {{ '3.7'|float }} {{ 'x'|int }} {{ 3.9|int }} {{ '0x1A'|int(0, 16) }} {{ true|string }} {{ [1]|string }}", {}),
    ("filter_trim_case", "{{ '  pad  '|trim }}|{{ 'xxpadxx'|trim('x') }}|{{ 'up'|upper }}|{{ 'LOW'|lower }}|{{ 'hello big-world (x)'|title }}|{{ 'hi THERE'|capitalize }}", {}),
    ("filter_replace_indent", "{{ 'a-b-c'|replace('-', '+') }}|{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(2, first=true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}|{{ 'x\\ny'|indent('> ') }}", {}),
    ("filter_items_dictsort", "{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %} {{ d|dictsort }} {{ d|dictsort(by='value', reverse=true) }} {{ u|items|list }}", {"d": {"b": 1, "a": 2, "C": 0}}),
    ("filter_unique_sort", "{{ ['a', 'A', 'b', 'a']|unique|list }} {{ [3, 1, 2]|sort }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A']|sort(case_sensitive=true) }} {{ [3, 1]|sort(reverse=true) }} {{ users|sort(attribute='age')|map(attribute='n')|join }}", {"users": [{"n": "x", "age": 3}, {"n": "y", "age": 1}]}),
    ("filter_misc", "{{ [1, 2, 3]|sum }} {{ [1, 5, 3]|max }} {{ [4, 2]|min }} {{ -3|abs }} {{ 2.567|round(2) }} {{ 2.5|round }} {{ 'a b c'|wordcount }} {{ '<b>'|e }} {{ 'x'|safe }} {{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ 'ab'|center(6) }}|", {}),
    ("filter_format", "{{ '%s is %d years, %.2f%%'|format('Ann', 30, 1.5) }} {{ '%s' % 'z' }} {{ '%s-%s' % (1, 2) }} {{ '%05.1f|%-4d|%x' % (3.14159, 7, 255) }} {{ '%(a)s' % {'a': 1} }} {{ '%r' % 'q' }}", {}),
    ("filter_list_reverse", "{{ 'abc'|list }} {{ {'a': 1, 'b': 2}|list }} {{ [1, 2]|reverse|list }} {{ 'abc'|reverse }}", {}),
    ("filter_block", "{% filter upper %}shout {{ 'this' }}{% endfilter %} {% filter trim|upper %}  x  {% endfilter %}", {}),
    # tests
    ("tests_types", "{{ x is defined }} {{ y is undefined }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ 1 is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ {} is mapping }} {{ [] is iterable }} {{ 'a' is iterable }} {{ y is iterable }} {{ [] is sequence }} {{ range is callable }} {{ true is true }} {{ 0 is false }}", {"x": 1}),
    ("tests_values", "{{ 4 is divisibleby 2 }} {{ 3 is odd }} {{ 4 is even }} {{ 2 is in [1, 2] }} {{ 'a' is eq 'a' }} {{ 1 is ne 2 }} {{ 1 is lt 2 }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ x is not none }} {{ none is sameas none }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ 3 is gt(2) }} {{ 1 is equalto(1) }}", {"x": 0}),
    # statements
    ("for_loop_vars", "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}[{{ loop.previtem }}|{{ loop.nextitem }}]{{ loop.cycle('o', 'e') }} {% endfor %}", {"l": ["a", "b", "c"]}),
    ("for_else_filter", "{% for x in [] %}x{% else %}empty{% endfor %} {% for x in range(10) if x is odd %}{{ x }}{{ loop.length }}{% if loop.last %}!{% endif %}{% endfor %}", {}),
    ("for_unpack_dict", "{% for k in d %}{{ k }}{% endfor %} {% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %} {% for c in 'hé' %}[{{ c }}]{% endfor %}", {"d": {"x": 1, "y": 2}}),
    ("for_nested_depth", "{% for a in [1, 2] %}{% for b in [3, 4] %}{{ a }}{{ b }}{{ loop.depth }}{{ loop.index }} {% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("loop_controls", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("set_scoping", "{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}[{{ x }}]{% endfor %}{{ x }} {% if true %}{% set y = 5 %}{% endif %}{{ y }}", {}),
    ("set_multiple_and_block", "{% set a, b = 1, 2 %}{{ a }}{{ b }} {% set blk %}inner {{ a }}{% endset %}[{{ blk }}] {% set up | upper %}shout{% endset %}{{ up }}", {}),
    ("namespace", "{% set ns = namespace(count=0, found=false) %}{% for i in range(3) %}{% set ns.count = ns.count + i %}{% endfor %}{{ ns.count }} {{ ns.found }} {% set ns2 = namespace({'a': 1}, b=2) %}{{ ns2.a }}{{ ns2.b }}", {}),
    ("macro_basic", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', punct='?') }} {{ greet(name='Cy') }}", {}),
    ("macro_varargs_scope", "{% set g = 'global' %}{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{{ g }}{% set g = 'local' %}{{ g }}{% endmacro %}{{ m(1, 2, 3, k=4) }} {{ g }}", {}),
    ("macro_recursive", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}", {}),
    ("call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ 1 + 1 }}{% endcall %} {% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) each([1, 2]) %}<{{ x }}>{% endcall %}", {}),
    ("with_block", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}{{ a }}|", {}),
    ("generation_block", "{% for m in messages %}{% generation %}{{ m }}{% endgeneration %}{% endfor %}", {"messages": ["a", "b"]}),
    ("globals", "{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ dict(a=1, b=2) }} {{ strftime_now('%Y-%m-%d %H:%M:%S %B %d, %A') }}", {}),
    ("print_values", "{{ d }} {{ l }} {{ t }} {{ s }} {{ n }} {{ b }} {{ f }} {{ q }}", {"d": {"a": "it's", "b": [1, 2.0]}, "l": ["x\ny", None], "t": True, "s": "plain", "n": None, "b": False, "f": 1.25, "q": "say \"hi\" it's"}),
    ("undefined_ops", "{{ u }}|{{ u|length }}|{{ u|default('dd') }}|{{ u is defined }}|{% for x in u %}x{% endfor %}|{{ u ~ 'a' }}|{{ 'a' in u }}|{{ u|list }}|{{ u|items|list }}|{{ not u }}|{{ u == u }}", {}),
    # errors (the C++ engine must raise too)
    ("error_raise_exception", "{{ raise_exception('Conversation roles must alternate user/assistant') }}", {}),
    ("error_undefined_attr", "{{ u.x }}", {}),
    ("error_undefined_nested", "{{ d.a.b }}", {"d": {}}),
    ("error_type_add", "{{ 'a' + 1 }}", {}),
    ("error_list_append", "{% set l = [] %}{{ l.append(1) }}", {}),
    ("error_not_iterable", "{% for x in 5 %}{% endfor %}", {}),
    ("error_div_zero", "{{ 1 / 0 }}", {}),
    ("error_syntax_unclosed", "{% if true %}never closed", {}),
    ("error_syntax_bad_tag", "{% frobnicate %}", {}),
    ("error_syntax_expr", "{{ 1 + }}", {}),
    ("error_range_too_big", "{{ range(1000000)|length }}", {}),
    ("error_unknown_filter", "{{ 'x'|nosuchfilter }}", {}),
    ("error_tojson_undefined", "{{ u|tojson }}", {}),
    ("error_namespace_underscore", "{% set ns = namespace() %}{% set ns._x = 1 %}", {}),
    ("error_compare_types", "{{ 1 < 'a' }}", {}),
    ("error_dict_get_keyword", "{{ {'a': 1}.get('b', default=2) }}", {}),
    ("error_macro_too_many_args", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}", {}),
    ("error_macro_unknown_keyword", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(b=2) }}", {}),
    ("error_macro_argument_twice", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, a=2) }}", {}),
    ("macro_catches_in_nested_block", "{% macro m(a) %}{% if a %}{{ varargs|length }}{{ kwargs|length }}{% endif %}{% endmacro %}{{ m(1, 2, k=3) }}", {}),
]


def render(source, **ctx):
    try:
        return {"output": ctu._compile_jinja_template(source).render(**ctx)}
    except Exception as e:  # noqa: BLE001 - every failure is recorded, the C++ engine must fail too
        return {"error": str(e), "type": type(e).__name__}


def render_conversation(source, conv):
    kwargs = dict(conv.get("extra", {}))
    kwargs.update(bos_token=BOS, eos_token=EOS)
    try:
        # The same steps as PreTrainedTokenizerBase.apply_chat_template(tokenize=False).
        messages = ctu._normalize_chat_messages(conv["messages"])
        out, _ = ctu.render_jinja_template(
            conversations=[messages], tools=conv.get("tools"), documents=conv.get("documents"),
            chat_template=source, add_generation_prompt=conv.get("add_generation_prompt", False),
            continue_final_message=conv.get("continue_final_message", False), **kwargs)
        return {"output": out[0]}
    except Exception as e:  # noqa: BLE001
        return {"error": str(e), "type": type(e).__name__}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--out", default="tests/data/chat")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    (out / "expected").mkdir(parents=True, exist_ok=True)
    cases = []
    for name, source, ctx in JINJA_CASES:
        cases.append({"name": name, "template": source, "context": ctx, **render(source, **ctx)})
    (out / "jinja_cases.json").write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "conversations.json").write_text(json.dumps(CONVERSATIONS, ensure_ascii=False, indent=1) + "\n",
                                            encoding="utf-8")
    for path in sorted(pathlib.Path(args.shared, "templates").glob("*.jinja")):
        source = path.read_text(encoding="utf-8")
        expected = {c["name"]: render_conversation(source, c) for c in CONVERSATIONS}
        (out / "expected" / (path.stem + ".json")).write_text(
            json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} jinja cases and {len(CONVERSATIONS)} conversations")


if __name__ == "__main__":
    main()
