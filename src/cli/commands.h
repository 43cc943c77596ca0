// The subcommands of the `libscout` tool. Each lives in its own cmd_<name>.cpp and registers
// itself on the CLI11 application; main.cpp calls the add_* functions in the order --help shows.
// A command reports failure by throwing libscout::Error (one line for the user, exit code 1).
#pragma once

#include <CLI/CLI.hpp>

namespace libscout::cli {

void add_list_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_gemm_command(CLI::App& app);
void add_study_command(CLI::App& app);
void add_meters_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_plan_command(CLI::App& app);

}  // namespace libscout::cli
