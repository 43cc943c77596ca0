// The library the needs_dependency test plugin links to and cannot find at run time.
extern "C" int libscout_test_dependency_answer() { return 42; }
