#!/usr/bin/env python3
"""Builds the training corpus of turbolm's embedded default model (models/default).

Sources (all redistributable with attribution; see models/default/README.md):
  * WikiText-2 (raw) test split          ../shared/text/wikitext-2-raw_wiki.test.raw     CC BY-SA 3.0
  * C4 en, first 1000 train records      ../shared/text/c4_en_train00000_first1000.jsonl ODC-BY 1.0
  * The Python 3.11 documentation sources (reStructuredText) from Debian's python3.11-doc
    package (/usr/share/doc/python3.11/html/_sources)                                   PSF License 2.0

Writes to OUT_DIR (default .train_data/corpus):
  train.jsonl    {"src": ..., "text": ...} one document a line (pre-training documents)
  heldout.jsonl  same, documents never seen in training (perplexity)
  chat.jsonl     {"messages": [...]} ChatML-style conversations made from the training documents
  stats.json     characters / documents per source

Usage:
  python3 tools/default_model_data.py --shared ../shared --pydoc /usr/share/doc/python3.11/html/_sources \
      --out .train_data/corpus
(the python3.11-doc package need not be installed: `apt-get download python3.11-doc && dpkg -x python3.11-doc_*.deb x`
 gives the same folder under x/).
"""
import argparse
import json
import os
import random
import re

HELDOUT_FRACTION = 0.04
SEED = 1234


# ---------------------------------------------------------------- WikiText-2
def wikitext_detokenize(s: str) -> str:
    """Undo WikiText's tokenization spacing (same rules as lm-eval-harness' wikitext detokenizer)."""
    s = s.replace("s '", "s'")
    s = re.sub(r"/' [0-9]/", r"/'[0-9]/", s)
    s = s.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
    s = s.replace(" : ", ": ").replace(" ; ", "; ").replace(" . ", ". ").replace(" ! ", "! ")
    s = s.replace(" ? ", "? ").replace(" , ", ", ")
    s = re.sub(r"\(\s*([^\)]*?)\s*\)", r"(\1)", s)
    s = re.sub(r"\[\s*([^\]]*?)\s*\]", r"[\1]", s)
    s = re.sub(r"{\s*([^}]*?)\s*}", r"{\1}", s)
    s = re.sub(r"\"\s*([^\"]*?)\s*\"", r'"\1"', s)
    s = re.sub(r"'\s*([^']*?)\s*'", r"'\1'", s)
    s = s.replace("= = = =", "====").replace("= = =", "===").replace("= =", "==")
    s = s.replace(" " + chr(176) + " ", chr(176))
    s = s.replace(" \n", "\n").replace("\n ", "\n")
    s = s.replace(" N ", " 1 ").replace(" 's", "'s").replace(" n't", "n't")
    s = s.replace(" 're", "'re").replace(" 've", "'ve").replace(" 'll", "'ll").replace(" 'm", "'m")
    s = re.sub(r" ([.,;:!?])$", r"\1", s)
    return s


def load_wikitext(path):
    """Returns [(title, text)] articles; headings become markdown-ish lines."""
    articles = []
    title, lines = None, []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line:
                continue
            m = re.fullmatch(r"= ([^=].*[^=]) =", line)
            if m:
                if title is not None and lines:
                    articles.append((title, lines))
                title, lines = wikitext_detokenize(m.group(1)).strip(), []
                continue
            m = re.fullmatch(r"(=(?: =)+) (.*?) (=(?: =)+)", line)
            if m:
                lines.append("## " + wikitext_detokenize(m.group(2)).strip())
                continue
            lines.append(wikitext_detokenize(line).strip())
    if title is not None and lines:
        articles.append((title, lines))
    out = []
    for t, ls in articles:
        paras = []
        for l in ls:
            if l.startswith("## "):
                paras.append(l[3:])
            else:
                paras.append(l)
        out.append((t, t + "\n\n" + "\n\n".join(paras)))
    return out


# ---------------------------------------------------------------- C4
def load_c4(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            out.append(rec["text"].strip())
    return out


# ---------------------------------------------------------------- Python docs (RST)
ROLE_RE = re.compile(r":(?:[a-zA-Z]+:)?[a-zA-Z]+:`(?:~|!)?([^`<]*?)(?:\s*<[^>]*>)?`")
HEADING_UNDERLINE = re.compile(r"^([=\-~^*#+\"'`])\1{2,}\s*$")


def rst_to_text(src: str):
    """Very small RST -> plain text: drops directives' option lines, labels, comments, literal blocks
    (code examples), turns roles and inline markup into plain words. Returns (first_title, text, sections)
    where sections = [(title, first_paragraph)]."""
    lines = src.splitlines()
    out = []
    i = 0
    in_literal = False
    literal_indent = 0
    skip_directive = False
    directive_indent = 0
    while i < len(lines):
        line = lines[i].rstrip()
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        i += 1
        if in_literal:
            if stripped == "" or indent > literal_indent:
                continue
            in_literal = False
        if skip_directive:
            if stripped == "" or indent > directive_indent:
                continue
            skip_directive = False
        if stripped.startswith(".. "):
            m = re.match(r"\.\. ([a-zA-Z0-9_:-]+)::\s*(.*)", stripped)
            if m is None:  # comment / label / substitution target
                skip_directive, directive_indent = True, indent
                continue
            name, arg = m.group(1), m.group(2)
            if name in ("code-block", "sourcecode", "code", "doctest", "testcode", "testoutput", "productionlist",
                        "literalinclude", "toctree", "index", "only", "image", "figure", "raw", "include",
                        "highlight", "sectionauthor", "moduleauthor", "csv-table", "table", "list-table",
                        "audit-event", "availability", "impl-detail", "seealso", "tabularcolumns", "cmdoption",
                        "c:macro", "c:type", "c:member", "c:var", "opcode", "2to3fixer", "pdbcommand",
                        "envvar", "option", "describe", "opcode", "rubric", "program", "currentmodule", "module",
                        "versionadded", "versionchanged", "deprecated", "deprecated-removed", "centered",
                        "testsetup", "testcleanup", "literalinclude", "limited-api-list", "miscnews"):
                skip_directive, directive_indent = True, indent
                continue
            if name in ("note", "warning", "important", "tip", "attention", "caution", "hint", "topic", "admonition"):
                if arg:
                    out.append(ROLE_RE.sub(r"\1", arg))
                continue
            # function / class / method / data ... : keep the signature as a line, body follows (indented prose)
            if arg:
                out.append("")
                out.append(arg)
            # skip option lines (:noindex: etc.)
            while i < len(lines) and re.match(r"\s+:[a-zA-Z-]+:", lines[i]):
                i += 1
            continue
        if HEADING_UNDERLINE.match(stripped) and stripped:
            # underline or overline: drop; headings stay as their text line
            continue
        if stripped.startswith(">>>") or stripped.startswith("..."):
            continue
        if re.match(r"^[=+\-]{4,}", stripped):  # tables' borders
            continue
        if stripped.endswith("::"):
            in_literal, literal_indent = True, indent
            stripped = stripped[:-2].rstrip()
            if stripped.endswith(" ") or stripped == "":
                stripped = stripped.rstrip()
            else:
                stripped += ":"
            if not stripped:
                continue
        out.append(stripped)
    text = "\n".join(out)
    text = ROLE_RE.sub(r"\1", text)
    text = re.sub(r"``([^`]+)``", r"\1", text)
    text = re.sub(r"`([^`<]+?)\s*<[^>]+>`_+", r"\1", text)
    text = re.sub(r"`([^`]+)`_*", r"\1", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\1", text)
    text = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"\1", text)
    text = re.sub(r"\|([a-zA-Z0-9_-]+)\|", r"\1", text)
    text = text.replace("\\ ", "")
    # join wrapped lines into paragraphs
    paras = []
    for block in re.split(r"\n\s*\n", text):
        ls = [l.strip() for l in block.split("\n") if l.strip()]
        if not ls:
            continue
        if all(l.startswith(("* ", "- ", "#. ")) or re.match(r"\d+\. ", l) for l in ls[:1]) and len(ls) > 1:
            # a list: keep items on their own lines, join continuation lines
            items = []
            for l in ls:
                if l.startswith(("* ", "- ", "#. ")) or re.match(r"\d+\. ", l):
                    items.append(l.replace("#. ", "- ", 1))
                elif items:
                    items[-1] += " " + l
                else:
                    items.append(l)
            paras.append("\n".join(items))
        else:
            paras.append(" ".join(ls))
    paras = [p for p in paras if len(p) > 1]
    # sections: a short paragraph followed by a longer prose paragraph
    sections = []
    for a, b in zip(paras, paras[1:]):
        if 3 <= len(a) <= 60 and not a.endswith((".", ":", ",")) and len(b) >= 200 and b[0].isupper() and b.endswith("."):
            sections.append((a, b))
    title = paras[0] if paras else ""
    return title, "\n\n".join(paras), sections


def load_pydoc(root):
    docs = []
    keep = ("tutorial", "faq", "howto", "reference", "whatsnew", "library", "using", "extending", "glossary")
    for dirpath, _, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        top = rel.split(os.sep)[0]
        for fn in sorted(files):
            if not fn.endswith(".rst.txt"):
                continue
            if top == "." and not fn.startswith("glossary"):
                continue
            if top != "." and top not in keep:
                continue
            if top == "whatsnew" and fn.startswith("changelog"):
                continue  # a huge list of issue numbers
            path = os.path.join(dirpath, fn)
            with open(path, encoding="utf-8") as f:
                title, text, sections = rst_to_text(f.read())
            if len(text) < 500:
                continue
            docs.append((os.path.join(rel, fn), title, text, sections))
    docs.sort()
    return docs


# ---------------------------------------------------------------- chat examples
SYSTEM = "You are a helpful assistant."
ASK_TOPIC = ["Tell me about {t}.", "What do you know about {t}?", "Write a short paragraph about {t}.",
             "Can you describe {t}?", "Give me an overview of {t}.", "{t}?", "Explain {t}."]
ASK_PY = ["What is {t} in Python?", "Explain {t} in Python.", "Tell me about {t}.",
          "How does {t} work in Python?", "Can you describe {t}?"]
ASK_CONT = ["Continue this text: {t}", "Write a paragraph that starts with: {t}", "Finish this: {t}"]
IDENTITY = [
    ("Hello!", "Hello! I am the tiny default model that ships inside turbolm. I was trained for a few minutes on "
               "Wikipedia articles, web text and the Python documentation, so my answers are short and often wrong, "
               "but I am here to show that turbolm works."),
    ("Hi", "Hi! I am turbolm's small built-in model. Ask me about a topic and I will write a paragraph about it."),
    ("Who are you?", "I am the default model of turbolm, a small Llama-style language model with about fourteen "
                     "million parameters. I live in the folder models/default of the turbolm repository."),
    ("What are you?", "I am a very small language model that ships with turbolm. I can write English text, "
                      "but I know little and I make many mistakes."),
    ("What is turbolm?", "turbolm is a toolkit written in C++ and CUDA that runs and serves large language models. "
                         "It can generate text, chat, and serve an OpenAI-compatible API."),
    ("How do I chat with you?", "Run turbolm chat models/default to talk to me in the terminal, or start a server "
                                "with turbolm serve api_server models/default and send it chat requests."),
    ("Thank you!", "You are welcome! Have a nice day."),
    ("Can you help me?", "I will try. I am a tiny model, so keep your questions short and simple."),
    ("Are you a large language model?", "No, I am a very small language model. Real models are thousands of times "
                                        "larger than me, and turbolm can run them too."),
    ("Goodbye", "Goodbye! Thanks for trying turbolm."),
]


def first_sentences(text, n_chars=600):
    """The leading paragraph of text, cut after a sentence end at most n_chars long."""
    para = text.strip().split("\n\n")[0].strip()
    if len(para) <= n_chars:
        return para
    cut = para[:n_chars]
    j = cut.rfind(". ")
    return cut[: j + 1] if j > 100 else cut


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--pydoc", default="/usr/share/doc/python3.11/html/_sources")
    ap.add_argument("--out", default=".train_data/corpus")
    args = ap.parse_args()
    rng = random.Random(SEED)
    os.makedirs(args.out, exist_ok=True)

    wiki = load_wikitext(os.path.join(args.shared, "text/wikitext-2-raw_wiki.test.raw"))
    c4 = load_c4(os.path.join(args.shared, "text/c4_en_train00000_first1000.jsonl"))
    py = load_pydoc(args.pydoc) if os.path.isdir(args.pydoc) else []

    train, held, chats = [], [], []

    def split(items, frac=HELDOUT_FRACTION):
        n_held = max(1, int(round(len(items) * frac)))
        # held-out = a fixed, evenly spread subset (every k-th item) so every source's style is covered
        k = max(2, len(items) // n_held)
        h = [x for i, x in enumerate(items) if i % k == k - 1][:n_held]
        hs = set(id(x) for x in h)
        return [x for x in items if id(x) not in hs], h

    w_tr, w_he = split(wiki, 0.07)  # only 62 articles: hold out 4
    c_tr, c_he = split(c4)
    p_tr, p_he = split(py)
    for t, text in w_tr:
        train.append({"src": "wikitext", "text": text})
        lead = first_sentences(text.split("\n\n", 1)[1] if "\n\n" in text else text)
        if len(lead) > 80:
            chats.append([("user", rng.choice(ASK_TOPIC).format(t=t)), ("assistant", lead)])
    for text in c_tr:
        train.append({"src": "c4", "text": text})
        para = first_sentences(text, 700)
        m = re.match(r"(.{20,120}?[.!?])\s+(.*)", para, re.S)
        if m and len(m.group(2)) > 80:
            chats.append([("user", rng.choice(ASK_CONT).format(t=m.group(1))), ("assistant", m.group(2))])
    for rel, title, text, sections in p_tr:
        train.append({"src": "pydoc", "text": text})
        for st, sp in sections[:6]:
            sp = first_sentences(sp, 600)
            chats.append([("user", rng.choice(ASK_PY).format(t=st)), ("assistant", sp)])
    for t, text in w_he:
        held.append({"src": "wikitext", "text": text})
    for text in c_he:
        held.append({"src": "c4", "text": text})
    for rel, title, text, sections in p_he:
        held.append({"src": "pydoc", "text": text})
    for q, a in IDENTITY:
        for _ in range(8):
            chats.append([("user", q), ("assistant", a)])
    rng.shuffle(train)
    rng.shuffle(chats)

    def dump(name, rows):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")

    dump("train.jsonl", train)
    dump("heldout.jsonl", held)
    dump("chat.jsonl", [{"messages": [{"role": "system", "content": SYSTEM}] +
                         [{"role": r, "content": c} for r, c in conv]} for conv in chats])
    stats = {}
    for name, rows in (("train", train), ("heldout", held)):
        for r in rows:
            s = stats.setdefault(f"{name}/{r['src']}", {"docs": 0, "chars": 0})
            s["docs"] += 1
            s["chars"] += len(r["text"])
    stats["chat"] = {"conversations": len(chats)}
    with open(os.path.join(args.out, "stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
