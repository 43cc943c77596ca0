#include "study/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string_view>

#include "core/error.h"
#include "study/memory_limit.h"

namespace libscout::study {

namespace {

constexpr std::size_t kTailBytes = 4096;

void keep_tail(std::string& tail, const char* data, std::size_t n) {
  tail.append(data, n);
  if (tail.size() > kTailBytes) tail.erase(0, tail.size() - kTailBytes);
}

// The last line of `text` that says something and passes `keep` ("" when none does).
template <typename Keep>
std::string last_line_where(const std::string& text, Keep keep) {
  std::string best, line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && keep(line)) best = line;
  }
  return best;
}

// The child's last words (CLI11's "Run with --help" trailer skipped).
std::string last_line(const std::string& text) {
  return last_line_where(text, [](const std::string& l) { return l.rfind("Run with --help", 0) != 0; });
}

// What a sanitizer's report that stopped the process says in its summary line ("SUMMARY:
// AddressSanitizer: SEGV ... in f()" gives "AddressSanitizer: SEGV ... in f()"), or "" when
// `text` has none: a sanitized build reports a crash itself and exits with status 1 instead of
// dying by the signal, and reports leaks the same way.
std::string sanitizer_summary(const std::string& text) {
  constexpr std::string_view kPrefix = "SUMMARY: ";
  const std::string line = last_line_where(text, [&](const std::string& l) {
    return l.starts_with(kPrefix) && l.find("Sanitizer: ") != std::string::npos;
  });
  return line.empty() ? line : line.substr(kPrefix.size());
}

// This process's environment with the NAME=VALUE entries of `set` added or replaced, built
// before fork (the child only calls execve).
std::vector<std::string> environment_with(const std::vector<std::string>& set) {
  std::vector<std::string> out;
  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry = *e;
    const bool replaced = std::any_of(set.begin(), set.end(), [&](const std::string& s) {
      return name_of(s) == name_of(entry);
    });
    if (!replaced) out.push_back(entry);
  }
  out.insert(out.end(), set.begin(), set.end());
  return out;
}

std::vector<char*> pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string ChildResult::describe() const {
  const std::string said = last_line(stderr_tail);
  if (interrupted) return "interrupted";
  if (timed_out) return "timed out after " + std::to_string(static_cast<int>(wall_s)) + " s";
  if (out_of_memory) return "out of memory: passed the study's memory limit of " + memory_limit;
  if (signal != 0) {
    std::string s = "crashed: signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
    return said.empty() ? s : s + "; last words: " + said;
  }
  if (exit_code == 0) return "ok";
  if (std::string summary = sanitizer_summary(stderr_tail); !summary.empty()) {
    return "stopped by " + summary;
  }
  return said.empty() ? "exited with status " + std::to_string(exit_code) : said;
}

namespace {
volatile sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) { g_interrupted = 1; }
}  // namespace

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() { return g_interrupted != 0; }

std::string self_executable() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error("cannot find the libscout executable (/proc/self/exe): " + ec.message());
  return p.string();
}

ChildResult run_child(const std::vector<std::string>& argv, const ChildLimits& limits,
                      const std::vector<std::string>& env, bool echo_stderr) {
  if (argv.empty()) throw Error("run_child: empty command");
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  std::vector<char*> args = pointers(argv);
  const std::vector<std::string> environment = environment_with(env);
  std::vector<char*> envp = pointers(environment);

  MemoryLimit memory(limits.memory_mb << 20);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) throw Error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Child: own process group (so a timeout kills the library's helper processes too), limits,
    // stderr into the pipe, stdout discarded.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the study, even when that is killed
    memory.enter_from_child();
    dup2(err_pipe[1], STDERR_FILENO);
    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
    execve(args[0], args.data(), envp.data());
    const char* msg = "libscout: error: cannot start the measurement process\n";
    [[maybe_unused]] ssize_t w = write(STDERR_FILENO, msg, std::strlen(msg));
    _exit(127);
  }
  setpgid(pid, pid);  // also here, to win the race with the child's own call
  close(err_pipe[1]);

  ChildResult r;
  bool reaped = false, pipe_open = true;
  int status = 0;
  char buf[4096];
  while (!reaped || pipe_open) {
    if (pipe_open) {
      pollfd pfd{err_pipe[0], POLLIN, 0};
      if (poll(&pfd, 1, 50) > 0) {
        const ssize_t n = read(err_pipe[0], buf, sizeof buf);
        if (n > 0) {
          keep_tail(r.stderr_tail, buf, static_cast<std::size_t>(n));
          if (echo_stderr) [[maybe_unused]] ssize_t w = write(STDERR_FILENO, buf, n);
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          pipe_open = false;
        }
      }
    } else {
      usleep(20000);
    }
    if (!reaped) {
      const pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) reaped = true;
    }
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!reaped && interrupted()) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      reaped = true;
      r.interrupted = true;
    }
    if (!reaped && memory.exceeded(pid)) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      reaped = true;
    }
    if (!reaped && limits.timeout_s > 0 && r.wall_s > limits.timeout_s) {
      r.timed_out = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      reaped = true;
    }
    // A grandchild that keeps the pipe open must not hold the study: stop reading once the
    // child is gone and nothing more arrives.
    if (reaped && pipe_open) {
      pollfd pfd{err_pipe[0], POLLIN, 0};
      if (poll(&pfd, 1, 0) <= 0) pipe_open = false;
    }
  }
  close(err_pipe[0]);
  if (memory.bytes() > 0) r.memory_limit = megabytes(memory.bytes()) + " (" + memory.method() + ")";
  r.out_of_memory = !r.timed_out && memory.hit();
  if (!r.timed_out) {
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  }
  return r;
}

}  // namespace libscout::study
