// The study's memory limit for one child process: real memory, not address space. An address-
// space limit (RLIMIT_AS) fails the CUDA runtime and AddressSanitizer, which reserve far more
// virtual memory than they use, so instead:
//   - a cgroup v2 with memory.max (and no swap) where the study may create one under its own
//     cgroup (a delegated subtree with the memory controller enabled): the kernel enforces it and
//     memory.events says whether it killed the child;
//   - else the study polls the child's resident set size (/proc/PID/statm) and kills its process
//     group when it passes the limit.
// Either way a child that needs more than the limit ends with an out-of-memory result.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

namespace libscout::study {

class MemoryLimit {
 public:
  // A limit of `bytes` (0: none). Creates the cgroup when possible; which method applies is
  // method() ("cgroup memory.max", "resident-size polling" or "none").
  explicit MemoryLimit(std::size_t bytes);
  ~MemoryLimit();
  MemoryLimit(const MemoryLimit&) = delete;
  MemoryLimit& operator=(const MemoryLimit&) = delete;

  const std::string& method() const { return method_; }
  // In the child, after fork and before exec: joins the cgroup. Async-signal-safe.
  void enter_from_child() const;
  // In the parent, polled while the child runs: true when the child passed the limit (for the
  // polling method; the caller then kills the child's process group).
  bool exceeded(pid_t child);
  // After the child ended: whether the limit ended it (the cgroup's OOM killer, or polling).
  bool hit() const;
  std::size_t bytes() const { return bytes_; }

 private:
  std::size_t bytes_ = 0;
  std::string method_ = "none";
  std::string cgroup_dir_;  // empty when polling
  std::string procs_file_;
  bool polled_over_ = false;
};

// "4096 MB" style text of a byte count, for messages.
std::string megabytes(std::size_t bytes);

}  // namespace libscout::study
