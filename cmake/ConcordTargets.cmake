# concord_cc_library / concord_cc_test: every folder gets the same flags, warnings and labels
# (after Abseil's absl_cc_library). Sources are listed explicitly; no file(GLOB).

set(CONCORD_WARNINGS -Wall -Wextra -Wpedantic -Wno-unused-parameter)
if(CONCORD_WERROR)
  list(APPEND CONCORD_WARNINGS -Werror)
endif()

# concord_cc_library(NAME x SRCS a.cc b.cc HDRS a.h DEPS lib1 lib2 [PRIVATE_DEPS ...])
function(concord_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;HDRS;DEPS;PRIVATE_DEPS" ${ARGN})
  if(ARG_SRCS)
    add_library(${ARG_NAME} STATIC ${ARG_SRCS} ${ARG_HDRS})
    target_include_directories(${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
    target_compile_options(${ARG_NAME} PRIVATE ${CONCORD_WARNINGS})
    target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  else()
    add_library(${ARG_NAME} INTERFACE)
    target_include_directories(${ARG_NAME} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${ARG_NAME} INTERFACE ${ARG_DEPS})
  endif()
endfunction()

# concord_cc_binary(NAME x SRCS main.cc DEPS ...)
function(concord_cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${CONCORD_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
endfunction()

# The concurrency-heavy tests: the ThreadSanitizer build (CMakePresets.json "tsan",
# scripts/proof.sh tsan, run by CI) builds (target tests_tsan) and runs exactly these, labelled
# `tsan` in that build (docs/reliability.md says why each is here). A test joins the set either
# here or by adding `tsan` to the LABELS of its concord_cc_test (e.g. `LABELS service tsan`): the
# other builds ignore that label and keep the test's own.
set(CONCORD_TSAN_TESTS
  server_runner_test                        # ServerRunner: serving threads, drain, shutdown
  open_calls_test                           # registry of open calls, its revocation watcher
  authz_auth_processor_service_test         # AuthMetadataProcessor on gRPC's threads
  redis_client_redis_test                   # connection pool, reconnects from many threads
  redis_subscriber_redis_test               # pub/sub thread, resubscribe, callbacks
  clients_directory_cache_redis_test        # directory cache refresher vs readers
  notify_test                               # outbox worker thread
  audit_background_test                     # background audit appender
  intake_audit_sink_redis_test              # audit intake from many handlers
  quota_checker_test                        # quota registry (per-caller buckets under a mutex)
  quota_storage_guard_redis_test            # storage guard's polling thread vs Check()
  messaging_subscribe_streams_service_test  # delivery notifier waking Subscribe streams
  guidelines_streams_service_test           # guidelines Subscribe callback reactors
  referrals_scheduler_test                  # deadline scheduler thread
  directory_announcement_messaging_test     # directory notifier -> messaging
  referrals_notifier_messaging_test)        # referrals notifier -> messaging

# concord_cc_test(NAME x SRCS x_test.cc DEPS ... LABELS unit|redis|service|integration)
# Tests are discovered at ctest time (PRE_TEST) so building never runs a test binary.
function(concord_cc_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${CONCORD_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest_main GTest::gmock)
  set(_tsan OFF)
  if("tsan" IN_LIST ARG_LABELS OR ARG_NAME IN_LIST CONCORD_TSAN_TESTS)
    set(_tsan ON)
    list(REMOVE_ITEM ARG_LABELS tsan)
  endif()
  foreach(label IN LISTS ARG_LABELS)
    set_property(GLOBAL APPEND PROPERTY CONCORD_TEST_TARGETS_${label} ${ARG_NAME})
  endforeach()
  if(_tsan)
    set_property(GLOBAL APPEND PROPERTY CONCORD_TEST_TARGETS_tsan ${ARG_NAME})
    # gtest_discover_tests flattens PROPERTIES: a second label would become a property name. The
    # ThreadSanitizer build labels these tests `tsan` (ctest -L tsan), the others keep their own.
    if(CONCORD_SANITIZE STREQUAL "thread")
      set(ARG_LABELS tsan)
    endif()
  endif()
  gtest_discover_tests(${ARG_NAME}
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
endfunction()

# tests_<label>: builds every test binary carrying that label (the sanitizer builds build only
# what they run). Call once, after every add_subdirectory.
function(concord_test_set_targets)
  foreach(label unit service redis tsan)
    get_property(targets GLOBAL PROPERTY CONCORD_TEST_TARGETS_${label})
    add_custom_target(tests_${label})
    if(targets)
      add_dependencies(tests_${label} ${targets})
    endif()
  endforeach()
endfunction()
