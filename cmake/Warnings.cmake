# Project-wide warnings for our own targets (not for third-party headers). -Wmissing-field-initializers is off:
# configs are aggregates with default member initializers, set with designated initializers that name only what
# differs (`{.quant_policy = 8}`), which GCC 12 reports member by member although nothing is left uninitialised.
function(turbolm_set_warnings target)
  target_compile_options(${target} PRIVATE
                         $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers>)
endfunction()

# turbolm_add_library(NAME SOURCES ... DEPS ...): a static library with src/ and include/ on its include path.
function(turbolm_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  turbolm_set_warnings(${name})
endfunction()

# turbolm_add_test(NAME SOURCES ... DEPS ...): one gtest binary per layer; cases registered with ctest.
function(turbolm_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE TURBOLM_SHARED_DIR="${TURBOLM_SHARED_DIR}"
                                             TURBOLM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  turbolm_set_warnings(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()
