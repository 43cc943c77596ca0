// Test plugin that cannot be loaded: it needs libscout_test_dependency.so, which is built
// without an rpath to it and is not on the loader's path, as a plugin whose library is missing
// on the machine. It declares a backend and a GEMM provider, so `libscout list` must list both
// as unavailable under their kinds and names.
#include "core/plugins.h"

extern "C" int libscout_test_dependency_answer();

LIBSCOUT_PLUGIN_PROVIDES("backend", "test-missing");
LIBSCOUT_PLUGIN_PROVIDES("provider", "test-missing");
LIBSCOUT_PLUGIN_ENTRY libscout_register_plugin(libscout::PluginRegistry&) {
  (void)libscout_test_dependency_answer();
}
