// Convolution parameters for test cases: square kernel, symmetric padding.
#pragma once

#include "core/graph.h"

namespace libscout::testing {

inline Conv2dParams square_conv(int out_channels, int kernel, int stride, int pad, int groups = 1,
                                int dilation = 1) {
  Conv2dParams p;
  p.out_channels = out_channels;
  p.kernel_h = p.kernel_w = kernel;
  p.stride_h = p.stride_w = stride;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
  p.groups = groups;
  p.dilation_h = p.dilation_w = dilation;
  return p;
}

}  // namespace libscout::testing
