// `reference`: runs every op with the double-accumulating loops of reference_ops.h.
#pragma once

#include <memory>

#include "core/backend.h"

namespace libscout {

std::unique_ptr<Backend> make_reference_backend();

}  // namespace libscout
