# Sanitizer and fuzzing builds (docs/reliability.md). Each configuration is its own build
# directory (CMakePresets.json: release -> build, asan -> build-asan, tsan -> build-tsan); the
# flags below are added only when CONCORD_SANITIZE is set, so the release build never has them
# (ctest sanitizers.build_flags checks its compile_commands.json).
#
#   CONCORD_SANITIZE  ""                   release (default)
#                     "address,undefined"  AddressSanitizer + UndefinedBehaviorSanitizer
#                     "thread"             ThreadSanitizer
#   CONCORD_FUZZ      ON: also build the libFuzzer targets of tests/fuzz (with address,undefined);
#                     the whole tree is then compiled with -fsanitize=fuzzer-no-link so the code
#                     under test gives libFuzzer its coverage, and the same objects serve the tests.

set(CONCORD_SANITIZE "" CACHE STRING "Sanitizers to build with: empty, address,undefined or thread")
set_property(CACHE CONCORD_SANITIZE PROPERTY STRINGS "" "address,undefined" "thread")
option(CONCORD_FUZZ "Build the libFuzzer targets of tests/fuzz (clang, CONCORD_SANITIZE=address,undefined)" OFF)

if(CONCORD_SANITIZE OR CONCORD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CONCORD_SANITIZE / CONCORD_FUZZ need clang (Debian clang-14): "
                        "use the asan or tsan preset, or -DCMAKE_CXX_COMPILER=clang++-14")
  endif()
endif()

if(CONCORD_SANITIZE)
  if(NOT CONCORD_SANITIZE MATCHES "^(address,undefined|thread)$")
    message(FATAL_ERROR "CONCORD_SANITIZE must be 'address,undefined' or 'thread', not '${CONCORD_SANITIZE}'")
  endif()
  # Stop at the first finding (a report that lets the test go on is easy to miss in CI), keep
  # frames for readable reports, line tables only (full debug info doubles the link time).
  set(_concord_san_flags -fsanitize=${CONCORD_SANITIZE} -fno-sanitize-recover=all
      -fno-omit-frame-pointer -gline-tables-only)
  if(CONCORD_SANITIZE STREQUAL "thread")
    list(APPEND _concord_san_flags -DCONCORD_TSAN=1)
  else()
    list(APPEND _concord_san_flags -DCONCORD_ASAN=1)
  endif()
  if(CONCORD_FUZZ)
    if(NOT CONCORD_SANITIZE STREQUAL "address,undefined")
      message(FATAL_ERROR "CONCORD_FUZZ is built with CONCORD_SANITIZE=address,undefined")
    endif()
    list(APPEND _concord_san_flags -fsanitize=fuzzer-no-link)
  endif()
  add_compile_options(${_concord_san_flags})
  add_link_options(-fsanitize=${CONCORD_SANITIZE} -fuse-ld=lld)
  message(STATUS "Concord: sanitizers ${CONCORD_SANITIZE}, fuzz targets ${CONCORD_FUZZ}")
elseif(CONCORD_FUZZ)
  message(FATAL_ERROR "CONCORD_FUZZ is built with CONCORD_SANITIZE=address,undefined")
endif()
