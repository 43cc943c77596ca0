// The SVG plotter on its own: ticks, scales, and that each kind of panel draws what it is given
// (one polyline per series, one bar per value, notes for missing values) as well-formed SVG.
#include <gtest/gtest.h>

#include "core/error.h"
#include "report/svg_plot.h"
#include "xml_check.h"

namespace libscout::report::svg {
namespace {

using testing::count;
using testing::xml_error;

TEST(SvgTicks, NiceStepsCoverTheRange) {
  const Ticks t = nice_ticks(0, 9.3, 5);
  EXPECT_DOUBLE_EQ(t.step, 2);
  EXPECT_DOUBLE_EQ(t.lo, 0);
  EXPECT_DOUBLE_EQ(t.hi, 10);
  EXPECT_EQ(t.values.size(), 6u);
  const Ticks small = nice_ticks(0, 0.9, 4);
  EXPECT_DOUBLE_EQ(small.step, 0.25);
  EXPECT_EQ(format_tick(0.75, small.step), "0.75");
  EXPECT_EQ(format_tick(1000, 250), "1000");
  const Ticks flat = nice_ticks(0, 0, 5);  // all zero: still an axis
  EXPECT_GT(flat.hi, flat.lo);
  EXPECT_THROW(nice_ticks(0, INFINITY), Error);
}

TEST(SvgScales, Log2SpacesPowersOfTwoEvenly) {
  const Log2Scale x(64, 1000, 0, 400);  // widened to 64 .. 1024
  EXPECT_DOUBLE_EQ(x.domain_hi(), 1024);
  EXPECT_DOUBLE_EQ(x(64), 0);
  EXPECT_DOUBLE_EQ(x(1024), 400);
  EXPECT_DOUBLE_EQ(x(256), 200);
  EXPECT_EQ(x.ticks(), (std::vector<double>{64, 128, 256, 512, 1024}));
  EXPECT_THROW(x(0), Error);
  const LinearScale y(0, 10, 300, 0);  // SVG y grows downwards
  EXPECT_DOUBLE_EQ(y(0), 300);
  EXPECT_DOUBLE_EQ(y(10), 0);
}

TEST(SvgPlot, LineChartHasAxesTicksLegendAndOneLinePerSeries) {
  Figure figure;
  figure.title = "GFLOPS <&> \"sizes\"";
  LineChart chart;
  chart.title = "device";
  chart.x_label = "matrix size";
  chart.y_label = "GFLOPS";
  chart.series.push_back({"openblas", {{64, 1}, {256, 4}, {1024, 9}}, false});
  chart.series.push_back({"blis", {{64, 0.5}, {1024, 7}}, false});
  chart.series.push_back({"clblast incl. transfer", {{64, 0.1}, {1024, 2}}, true});
  figure.panels.push_back(chart);
  const std::string svg = render_svg(figure);
  EXPECT_EQ(xml_error(svg), "");
  EXPECT_EQ(count(svg, "<polyline"), 3u);
  EXPECT_EQ(count(svg, "<circle"), 7u);
  EXPECT_EQ(count(svg, "class=\"legend-entry\""), 3u);
  EXPECT_EQ(count(svg, "stroke-dasharray"), 2u);  // the dashed series and its legend entry
  EXPECT_NE(svg.find(">matrix size<"), std::string::npos);
  EXPECT_NE(svg.find(">GFLOPS<"), std::string::npos);
  EXPECT_NE(svg.find(">1024<"), std::string::npos);  // an x tick
  EXPECT_NE(svg.find(">64<"), std::string::npos);
  EXPECT_NE(svg.find("GFLOPS &lt;&amp;&gt; &quot;sizes&quot;"), std::string::npos);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(xml_error(render_svg_document(figure)), "");
}

TEST(SvgPlot, GroupedBarsLeaveMissingValuesEmptyWithTheirNote) {
  Figure figure;
  figure.title = "latency";
  GroupedBarChart chart;
  chart.title = "device";
  chart.y_label = "ms";
  chart.groups = {"SqueezeNet v1.1", "MobileNet v1"};
  chart.series.push_back({"gemm:openblas", {300.0, 800.0}, {"", ""}});
  chart.series.push_back({"clblast", {std::nullopt, std::nullopt}, {"failed", "invalid"}});
  figure.panels.push_back(chart);
  const std::string svg = render_svg(figure);
  EXPECT_EQ(xml_error(svg), "");
  EXPECT_EQ(count(svg, "class=\"bar\""), 2u);
  EXPECT_EQ(count(svg, ">failed<"), 1u);
  EXPECT_EQ(count(svg, ">invalid<"), 1u);
  EXPECT_NE(svg.find(">MobileNet v1<"), std::string::npos);
  EXPECT_NE(svg.find(">800<"), std::string::npos);  // the top y tick covers the largest bar
}

TEST(SvgPlot, StackedBarsAndMessagePanelsSideBySide) {
  Figure figure;
  figure.title = "power";
  StackedBarChart stacks;
  stacks.title = "board";
  stacks.y_label = "W";
  stacks.categories = {"a", "b"};
  stacks.layers = {{"big", {2.0, 1.0}}, {"gpu", {0.5, 0.0}}};
  figure.panels.push_back(stacks);
  figure.panels.push_back(MessagePanel{"desktop", "no power meter on this device"});
  const std::string svg = render_svg(figure);
  EXPECT_EQ(xml_error(svg), "");
  EXPECT_EQ(count(svg, "class=\"segment\""), 3u);  // the zero segment is not drawn
  EXPECT_EQ(count(svg, "class=\"panel\""), 2u);
  EXPECT_NE(svg.find(">no power meter on this device<"), std::string::npos);
  EXPECT_NE(svg.find("width=\"" + std::to_string(2 * figure.panel_width) + ".0\""),
            std::string::npos);
}

TEST(SvgPlot, LongCategoryLabelsAreRotatedAndShortenedToStayInThePanel) {
  Figure figure;
  figure.title = "power";
  StackedBarChart stacks;
  stacks.title = "board";
  stacks.y_label = "W";
  const std::string long_label = "gemm:openblas \u00b7 SqueezeNet v1.1 at four threads";
  stacks.categories = {long_label, "b", "c", "d", "e", "f"};
  stacks.layers = {{"total", {1, 2, 3, 4, 5, 6}}};
  figure.panels.push_back(stacks);
  const std::string svg = render_svg(figure);
  EXPECT_EQ(xml_error(svg), "");
  EXPECT_NE(svg.find("rotate(-40"), std::string::npos);
  EXPECT_EQ(svg.find(">" + long_label + "<"), std::string::npos);  // cut: it would not fit
  EXPECT_NE(svg.find(">gemm:openbl"), std::string::npos);
  EXPECT_NE(svg.find("\u2026</text>"), std::string::npos);
}

}  // namespace
}  // namespace libscout::report::svg
