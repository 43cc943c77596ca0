// Run-time defaults of a sanitized build (-DLIBSCOUT_SANITIZE=address,undefined), linked into
// every executable of such a tree so that ctest, the study's child processes and a user's shell
// all run with the same settings, without an environment to remember. ASAN_OPTIONS,
// UBSAN_OPTIONS and LSAN_OPTIONS given in the environment still override them.
//
// The runtimes look these functions up in the executable (a definition in a shared library would
// lose to the runtime's own weak one), hence an object linked into each executable.

extern "C" {

// allocator_may_return_null: an allocation the allocator cannot serve (a size read from a
// malformed file) throws std::bad_alloc, as without ASan, instead of aborting; the code under
// test handles it. detect_leaks: on, with the suppressions below. intercept_tls_get_addr=0: the
// runtime of GCC 12 mistakes some dynamic TLS blocks of glibc >= 2.25 for an old layout and its
// leak tracer then crashes at exit ("Tracer caught signal 11", seen with oneDNN's OpenMP threads;
// google/sanitizers#1322); static TLS and every stack are still scanned.
const char* __asan_default_options() {
  return "detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1:"
         "detect_stack_use_after_return=0:check_initialization_order=1:"
         "intercept_tls_get_addr=0";
}

const char* __ubsan_default_options() { return "print_stacktrace=1:halt_on_error=1"; }

// Leaks inside libraries this project links or loads but does not build would be listed here,
// each line naming the library; a leak in libscout's own code is never suppressed. None needed so
// far (the host suite on Debian 12).
const char* __lsan_default_suppressions() { return ""; }

}  // extern "C"
