// A report as a list of blocks (headings, paragraphs, lists, tables, figures), written once and
// rendered twice: as Markdown (figures referenced as files) and as one self-contained HTML page
// (figures inlined as SVG, CSS inline, no scripts, no network; readable on a phone and a desktop).
#pragma once

#include <string>
#include <variant>
#include <vector>

namespace libscout::report {

struct Heading {
  int level = 2;  // 1 to 4
  std::string text;
};

struct Paragraph {
  std::string text;
};

struct BulletList {
  std::vector<std::string> items;
};

struct Table {
  // Optional row above the header spanning several columns (e.g. a device over its models); in
  // Markdown each group name is folded into the header cells it spans as "group · header".
  struct Group {
    std::string text;
    int span = 1;
  };
  std::vector<Group> groups;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  bool first_column_is_header = false;  // the paper's transposed layout
};

struct FigureBlock {
  std::string file;  // relative to the report, e.g. "figures/latency.svg"
  std::string caption;
  std::string svg;                  // the whole figure (the file's content)
  std::vector<std::string> panels;  // its panels, each an <svg> element, inlined into the HTML
};

// The report's first screen: one card per choice to make (a model on a device), each naming the
// library to use in a headline, with the figures behind it in a sentence.
struct Summary {
  struct Card {
    std::string title;     // "SqueezeNet v1.1 on rpi3"
    std::string headline;  // "xnnpack (4 threads)"
    std::string detail;    // "3.33x faster (3.10x to 3.52x) than gemm:openblas; ..."
  };
  std::vector<Card> cards;
};

using Block = std::variant<Heading, Paragraph, BulletList, Table, FigureBlock, Summary>;

struct Document {
  std::string title;
  std::vector<Block> blocks;
};

std::string render_markdown(const Document& document);
std::string render_html(const Document& document);

// Text escaped for HTML (&, <, >, ").
std::string escape_html(const std::string& text);

}  // namespace libscout::report
