// Every backend libscout can run a model on: `reference`, `gemm:<provider>` for every GEMM
// provider, and the whole-layer library backends registered by plugins.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"

namespace libscout {

struct BackendInfo {
  std::string name;
  std::string description;
  bool available = false;
  std::string reason;  // why not, when unavailable
  DeviceKind device = DeviceKind::kCpu;
};

std::vector<BackendInfo> list_backends();
// Throws Error for an unknown name, Unavailable (with the reason) for one that cannot run here.
std::unique_ptr<Backend> create_backend(const std::string& name);
// Where the backend of this name runs its layers, without creating it (kCpu for unknown names).
DeviceKind backend_device(const std::string& name);

// The backend that runs the layers another backend does not support: the fastest CPU GEMM
// baseline available (gemm:openblas, else gemm:eigen).
std::unique_ptr<Backend> create_fallback_backend();

}  // namespace libscout
