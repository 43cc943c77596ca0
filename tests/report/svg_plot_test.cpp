// The SVG plotter on its own: ticks, scales, and that each kind of panel draws what it is given
// (one polyline per series, one bar per value, notes for missing values, a log axis where values
// span decades) as well-formed SVG whose axes cover the data and whose series each have a colour.
#include <gtest/gtest.h>

#include "core/error.h"
#include "report/svg_plot.h"
#include "report_checks.h"
#include "xml_check.h"

namespace libscout::report::svg {
namespace {

using testing::axis_problems;
using testing::colour_problems;
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
  EXPECT_EQ(format_value(5234.4), "5234");
  EXPECT_EQ(format_value(12.345), "12.3");
  EXPECT_EQ(format_value(0.5123), "0.512");
}

TEST(SvgScales, LogScalesSpacePowersEvenly) {
  const LogScale x(2, 64, 1000, 0, 400);  // widened to 64 .. 1024
  EXPECT_DOUBLE_EQ(x.domain_hi(), 1024);
  EXPECT_DOUBLE_EQ(x(64), 0);
  EXPECT_DOUBLE_EQ(x(1024), 400);
  EXPECT_DOUBLE_EQ(x(256), 200);
  EXPECT_EQ(x.ticks(), (std::vector<double>{64, 128, 256, 512, 1024}));
  EXPECT_THROW(x(0), Error);
  const LogScale t(10, 3.2, 5200, 0, 300);  // 1 .. 10000
  EXPECT_DOUBLE_EQ(t.domain_lo(), 1);
  EXPECT_DOUBLE_EQ(t.domain_hi(), 10000);
  EXPECT_NEAR(t(100), 150, 1e-9);
  const LogScale narrow(10, 12, 40, 0, 100);  // one decade: 2x and 5x ticks too
  EXPECT_EQ(narrow.ticks(), (std::vector<double>{10, 20, 50, 100}));
  const LinearScale y(0, 10, 300, 0);  // SVG y grows downwards
  EXPECT_DOUBLE_EQ(y(0), 300);
  EXPECT_DOUBLE_EQ(y(10), 0);
}

TEST(SvgPlot, LineChartHasAxesLegendAndOneLinePerSeries) {
  Figure figure;
  figure.title = "GFLOPS <&> \"sizes\"";
  LineChart chart;
  chart.title = "1 thread";
  chart.x_label = "matrix size";
  chart.y_label = "GFLOPS";
  chart.series.push_back({"openblas", {{64, 1}, {256, 4}, {1024, 9}}, false});
  chart.series.push_back({"blis", {{64, 0.5}, {1024, 7}}, false});
  chart.series.push_back({"clblast incl. transfer", {{64, 0.1}, {1024, 2}}, true});
  figure.panels.push_back(chart);
  const std::string svg = render_svg(figure);
  EXPECT_EQ(xml_error(svg), "");
  EXPECT_EQ(count(svg, "<polyline"), 3u);
  EXPECT_EQ(testing::mark_count(svg), 7u);
  EXPECT_EQ(count(svg, "class=\"legend-entry\""), 3u);
  EXPECT_EQ(count(svg, "stroke-dasharray"), 2u);  // the dashed series and its legend entry
  EXPECT_NE(svg.find(">1024<"), std::string::npos);  // an x tick
  EXPECT_NE(svg.find("GFLOPS &lt;&amp;&gt; &quot;sizes&quot;"), std::string::npos);
  EXPECT_NE(svg.find("GFLOPS (log scale)"), std::string::npos);  // 0.1 to 9: two decades
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_TRUE(axis_problems(svg).empty()) << axis_problems(svg).front();
  EXPECT_TRUE(colour_problems(svg).empty()) << colour_problems(svg).front();
  EXPECT_EQ(xml_error(render_svg_document(figure)), "");
}

TEST(SvgPlot, BarsOnALogAxisPrintTheirValueAndMissingRowsSayWhy) {
  Figure figure;
  figure.title = "latency";
  BarChart chart;
  chart.title = "SqueezeNet v1.1";
  chart.x_label = "ms per inference";
  chart.unit = "ms";
  chart.rows.push_back({"xnnpack", {{"xnnpack", 3.2}}, std::make_pair(3.0, 3.5), "", ""});
  chart.rows.push_back({"gemm:openblas", {{"gemm:openblas", 14.7}}, std::nullopt, "", ""});
  chart.rows.push_back({"gemm:clblast", {{"gemm:clblast", 5200}}, std::make_pair(5000.0, 5600.0), "", ""});
  chart.rows.push_back({"onednn", {}, std::nullopt, "failed: killed by signal 11", ""});
  figure.panels.push_back(chart);
  const std::string svg = render_svg(figure);
  EXPECT_EQ(xml_error(svg), "");
  EXPECT_EQ(testing::mark_count(svg), 3u);  // the failed row has no bar
  EXPECT_NE(svg.find(">failed: killed by signal 11<"), std::string::npos);
  EXPECT_NE(svg.find(">3.20 ms<"), std::string::npos);
  EXPECT_NE(svg.find(">5200 ms<"), std::string::npos);
  EXPECT_NE(svg.find("data-scale=\"log\""), std::string::npos);
  EXPECT_NE(svg.find("(log scale)"), std::string::npos);
  EXPECT_TRUE(axis_problems(svg).empty()) << axis_problems(svg).front();
  EXPECT_TRUE(colour_problems(svg).empty()) << colour_problems(svg).front();
}

TEST(SvgPlot, AZeroValueTurnsALogAxisLinearInsteadOfFailing) {
  Figure figure;
  figure.title = "energy";
  BarChart chart;
  chart.title = "board";
  chart.unit = "mJ";
  chart.rows.push_back({"a", {{"a", 0.0}}, std::nullopt, "", ""});
  chart.rows.push_back({"b", {{"b", 12.0}}, std::nullopt, "", ""});
  figure.panels.push_back(chart);
  const std::string svg = render_svg(figure);
  EXPECT_NE(svg.find("data-scale=\"linear\""), std::string::npos);
  EXPECT_TRUE(axis_problems(svg).empty()) << axis_problems(svg).front();
}

TEST(SvgPlot, StackedBarsUseALinearAxisFromZero) {
  Figure figure;
  figure.title = "power";
  BarChart chart;
  chart.title = "board";
  chart.unit = "W";
  chart.log_scale = false;
  chart.legend = true;
  chart.rows.push_back({"a", {{"big", 2.0}, {"gpu", 0.5}}, std::nullopt, "", ""});
  chart.rows.push_back({"b", {{"big", 1.0}, {"little", 0.25}}, std::nullopt, "", ""});
  figure.panels.push_back(chart);
  figure.panels.push_back(MessagePanel{"desktop", "no power meter on this device"});
  const std::string svg = render_svg(figure);
  EXPECT_EQ(xml_error(svg), "");
  EXPECT_EQ(testing::mark_count(svg), 4u);
  EXPECT_EQ(count(svg, "class=\"legend-entry\""), 3u);
  EXPECT_EQ(count(svg, "class=\"panel\""), 2u);
  EXPECT_NE(svg.find("data-scale=\"linear\" data-lo=\"0\""), std::string::npos);
  EXPECT_NE(svg.find(">no power meter on this device<"), std::string::npos);
  EXPECT_TRUE(axis_problems(svg).empty()) << axis_problems(svg).front();
  EXPECT_EQ(render_panels(figure).size(), 2u);
}

TEST(SvgPlot, EverySeriesHasItsOwnColourEvenPastThePalette) {
  Figure figure;
  figure.title = "many providers";
  for (int panel = 0; panel < 2; ++panel) {
    LineChart chart;
    chart.title = std::to_string(panel + 1) + " threads";
    for (int i = 0; i < 30; ++i)
      chart.series.push_back({"provider " + std::to_string(i), {{64, 1.0 + i}, {128, 2.0 + i}}, false});
    figure.panels.push_back(chart);
  }
  const std::string svg = render_svg(figure);
  EXPECT_TRUE(colour_problems(svg).empty()) << colour_problems(svg).front();
  for (const auto& panel : render_panels(figure)) EXPECT_EQ(xml_error(panel), "");
}

}  // namespace
}  // namespace libscout::report::svg
