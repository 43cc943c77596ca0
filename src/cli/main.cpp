#include <cstdio>
#include <exception>
#include <new>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"libscout: which BLAS or neural-network library runs this CNN fastest, or with the "
               "least energy, on this device"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "libscout 0.1.0");
  libscout::cli::add_list_command(app);
  libscout::cli::add_run_command(app);
  libscout::cli::add_gemm_command(app);
  libscout::cli::add_meters_command(app);
  libscout::cli::add_study_command(app);
  libscout::cli::add_report_command(app);
  libscout::cli::add_export_command(app);
  libscout::cli::add_plan_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "libscout: error: out of memory\n");
    return 3;
  } catch (const libscout::Error& e) {
    std::fprintf(stderr, "libscout: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "libscout: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
