// Checks on a written report, read back with an XML parser (expat): the tables' rows, and for
// each figure that every axis covers its data and that no two series share a colour. The
// plotter writes what these checks need: axes carry their range (data-lo, data-hi, data-px-lo,
// data-px-hi), marks their value (data-value and data-end of a bar, data-x and data-y of a point)
// and every mark and legend entry its series and colour (data-series, data-colour).
#pragma once

#include <expat.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace libscout::report::testing {

struct Node {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;  // the text directly inside the element and its children
  int parent = -1;
};

// Every element of a well-formed document, in document order (empty when it is not well-formed).
inline std::vector<Node> parse_nodes(const std::string& text) {
  struct State {
    std::vector<Node> nodes;
    std::vector<int> open;
  } state;
  XML_Parser parser = XML_ParserCreate("UTF-8");
  XML_SetUserData(parser, &state);
  XML_SetElementHandler(
      parser,
      [](void* data, const XML_Char* name, const XML_Char** attributes) {
        auto* s = static_cast<State*>(data);
        Node node;
        node.name = name;
        for (int i = 0; attributes[i]; i += 2) node.attributes[attributes[i]] = attributes[i + 1];
        node.parent = s->open.empty() ? -1 : s->open.back();
        s->open.push_back(static_cast<int>(s->nodes.size()));
        s->nodes.push_back(std::move(node));
      },
      [](void* data, const XML_Char*) { static_cast<State*>(data)->open.pop_back(); });
  XML_SetCharacterDataHandler(parser, [](void* data, const XML_Char* chars, int length) {
    auto* s = static_cast<State*>(data);
    for (int index : s->open) s->nodes[static_cast<std::size_t>(index)].text.append(chars, length);
  });
  const bool ok = XML_Parse(parser, text.data(), static_cast<int>(text.size()), 1) != XML_STATUS_ERROR;
  XML_ParserFree(parser);
  return ok ? state.nodes : std::vector<Node>{};
}

inline bool inside(const std::vector<Node>& nodes, int index, int ancestor) {
  for (int i = nodes[static_cast<std::size_t>(index)].parent; i >= 0; i = nodes[static_cast<std::size_t>(i)].parent)
    if (i == ancestor) return true;
  return false;
}

// The body rows of every <table>, each row its cells' text.
inline std::vector<std::vector<std::vector<std::string>>> html_tables(const std::string& html) {
  const auto nodes = parse_nodes(html);
  std::vector<std::vector<std::vector<std::string>>> tables;
  for (int t = 0; t < static_cast<int>(nodes.size()); ++t) {
    if (nodes[static_cast<std::size_t>(t)].name != "table") continue;
    tables.emplace_back();
    for (int r = t + 1; r < static_cast<int>(nodes.size()) && inside(nodes, r, t); ++r) {
      if (nodes[static_cast<std::size_t>(r)].name != "tr") continue;
      const int tbody = nodes[static_cast<std::size_t>(r)].parent;
      if (tbody < 0 || nodes[static_cast<std::size_t>(tbody)].name != "tbody") continue;
      std::vector<std::string> cells;
      for (int c = r + 1; c < static_cast<int>(nodes.size()) && inside(nodes, c, r); ++c)
        if (nodes[static_cast<std::size_t>(c)].name == "td" || nodes[static_cast<std::size_t>(c)].name == "th")
          cells.push_back(nodes[static_cast<std::size_t>(c)].text);
      tables.back().push_back(std::move(cells));
    }
  }
  return tables;
}

// Rows that a table of the page lists twice (each as "table N: cell | cell | ...").
inline std::vector<std::string> duplicate_rows(const std::string& html) {
  std::vector<std::string> problems;
  const auto tables = html_tables(html);
  for (std::size_t t = 0; t < tables.size(); ++t) {
    for (std::size_t i = 0; i < tables[t].size(); ++i) {
      if (std::find(tables[t].begin(), tables[t].begin() + static_cast<long>(i), tables[t][i]) ==
          tables[t].begin() + static_cast<long>(i))
        continue;
      std::string text = "table " + std::to_string(t) + ":";
      for (const auto& cell : tables[t][i]) text += " " + cell + " |";
      problems.push_back(text);
    }
  }
  return problems;
}

inline double number_attribute(const Node& node, const char* key) {
  auto it = node.attributes.find(key);
  return it == node.attributes.end() ? NAN : std::stod(it->second);
}

// What is wrong with the axes of an SVG figure: a mark whose value lies outside its axis's range,
// or whose pixel position lies outside the axis's pixels. Empty when every axis covers its data.
inline std::vector<std::string> axis_problems(const std::string& svg) {
  const auto nodes = parse_nodes(svg);
  std::vector<std::string> problems;
  if (nodes.empty()) return {"not well-formed"};
  for (int p = 0; p < static_cast<int>(nodes.size()); ++p) {
    const Node& panel = nodes[static_cast<std::size_t>(p)];
    if (panel.attributes.count("class") == 0 || panel.attributes.at("class") != "panel") continue;
    std::map<std::string, const Node*> axes;
    std::vector<const Node*> marks;
    for (int i = p + 1; i < static_cast<int>(nodes.size()) && inside(nodes, i, p); ++i) {
      const Node& n = nodes[static_cast<std::size_t>(i)];
      auto cls = n.attributes.find("class");
      if (cls == n.attributes.end()) continue;
      if (cls->second == "axis") axes[n.attributes.at("data-axis")] = &n;
      if (cls->second == "bar" || cls->second == "point" || cls->second == "interval") marks.push_back(&n);
    }
    const std::string title = panel.attributes.count("data-title") ? panel.attributes.at("data-title") : "";
    auto check = [&](const char* axis, double value, const std::string& what) {
      if (!axes.count(axis)) return problems.push_back(title + ": " + what + " has no " + axis + " axis");
      const Node& a = *axes.at(axis);
      const double lo = number_attribute(a, "data-lo"), hi = number_attribute(a, "data-hi");
      const double tolerance = 1e-9 * std::max(std::abs(lo), std::abs(hi));
      if (!(value >= lo - tolerance && value <= hi + tolerance))
        problems.push_back(title + ": " + what + " = " + std::to_string(value) + " outside the " +
                           axis + " axis [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    };
    for (const Node* m : marks) {
      const std::string& cls = m->attributes.at("class");
      if (cls == "bar") {
        check("x", number_attribute(*m, "data-end"), "bar end");
        const double x = number_attribute(*m, "x"), w = number_attribute(*m, "width");
        const Node& a = *axes["x"];
        if (x + 0.5 < number_attribute(a, "data-px-lo") || x + w > number_attribute(a, "data-px-hi") + 1.5)
          problems.push_back(title + ": a bar's pixels run outside its axis");
      } else if (cls == "interval") {
        check("x", number_attribute(*m, "data-lo"), "interval low end");
        check("x", number_attribute(*m, "data-hi"), "interval high end");
      } else {
        check("x", number_attribute(*m, "data-x"), "point x");
        check("y", number_attribute(*m, "data-y"), "point y");
      }
    }
  }
  return problems;
}

// What is wrong with the colours of an SVG figure: two series drawn in one colour, or one series
// drawn in two. Empty when every series has a colour of its own.
inline std::vector<std::string> colour_problems(const std::string& svg) {
  std::map<std::string, std::string> colour_of, series_of;
  std::vector<std::string> problems;
  for (const Node& n : parse_nodes(svg)) {
    auto series = n.attributes.find("data-series");
    auto colour = n.attributes.find("data-colour");
    if (series == n.attributes.end() || colour == n.attributes.end()) continue;
    auto [c, new_series] = colour_of.emplace(series->second, colour->second);
    if (!new_series && c->second != colour->second)
      problems.push_back(series->second + " is drawn in " + c->second + " and " + colour->second);
    auto [s, new_colour] = series_of.emplace(colour->second, series->second);
    if (!new_colour && s->second != series->second)
      problems.push_back(s->second + " and " + series->second + " share the colour " + colour->second);
  }
  return problems;
}

// How many marks (bars and points) an SVG figure draws.
inline std::size_t mark_count(const std::string& svg) {
  std::size_t n = 0;
  for (const Node& node : parse_nodes(svg)) {
    auto cls = node.attributes.find("class");
    n += cls != node.attributes.end() && (cls->second == "bar" || cls->second == "point");
  }
  return n;
}

}  // namespace libscout::report::testing
