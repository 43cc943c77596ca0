// `eigen`: Eigen 3's matrix product, compiled in. Its threads are OpenMP's (Eigen::setNbThreads).
#include <Eigen/Core>

#include "gemm/builtin_providers.h"

namespace libscout::gemm {

namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;
using Map = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;

class EigenProvider final : public Provider {
 public:
  std::string name() const override { return "eigen"; }
  std::string version() const override {
    return std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
           std::to_string(EIGEN_MINOR_VERSION);
  }
  int set_threads(int threads) override {
    Eigen::setNbThreads(threads);
    return Eigen::nbThreads();
  }

  void sgemm(const SgemmArgs& g) override {
    const int ar = g.trans_a == Trans::kNo ? g.m : g.k, ac = g.trans_a == Trans::kNo ? g.k : g.m;
    const int br = g.trans_b == Trans::kNo ? g.k : g.n, bc = g.trans_b == Trans::kNo ? g.n : g.k;
    ConstMap a(g.a, ar, ac, Eigen::OuterStride<>(g.lda));
    ConstMap b(g.b, br, bc, Eigen::OuterStride<>(g.ldb));
    Map c(g.c, g.m, g.n, Eigen::OuterStride<>(g.ldc));
    if (g.beta == 0.0f) {
      c.setZero();  // never read C when beta is 0: it may hold NaN
    } else if (g.beta != 1.0f) {
      c *= g.beta;
    }
    if (g.trans_a == Trans::kNo && g.trans_b == Trans::kNo) {
      c.noalias() += g.alpha * a * b;
    } else if (g.trans_a == Trans::kNo) {
      c.noalias() += g.alpha * a * b.transpose();
    } else if (g.trans_b == Trans::kNo) {
      c.noalias() += g.alpha * a.transpose() * b;
    } else {
      c.noalias() += g.alpha * a.transpose() * b.transpose();
    }
  }
};

}  // namespace

std::unique_ptr<Provider> make_eigen_provider() { return std::make_unique<EigenProvider>(); }

}  // namespace libscout::gemm
