#include "report/document.h"

#include <sstream>

#include "report/svg_plot.h"

namespace libscout::report {

std::string escape_html(const std::string& text) { return svg::escape_xml(text); }

namespace {

// A Markdown table cell: one line, pipes escaped.
std::string md_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out.empty() ? " " : out;
}

void markdown_table(std::ostringstream& out, const Table& table) {
  std::vector<std::string> header = table.header;
  if (!table.groups.empty()) {
    std::size_t column = 0;
    for (const auto& group : table.groups) {
      for (int i = 0; i < group.span && column < header.size(); ++i, ++column) {
        if (group.text.empty()) continue;
        header[column] = header[column].empty() ? group.text : group.text + " · " + header[column];
      }
    }
  }
  out << "|";
  for (const auto& cell : header) out << " " << md_cell(cell) << " |";
  out << "\n|";
  for (std::size_t i = 0; i < header.size(); ++i) out << "---|";
  out << "\n";
  for (const auto& row : table.rows) {
    out << "|";
    for (std::size_t i = 0; i < header.size(); ++i)
      out << " " << md_cell(i < row.size() ? row[i] : "") << " |";
    out << "\n";
  }
  out << "\n";
}

constexpr const char* kStyle = R"(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #fafafa; color: #1d1d1f;
  font: 16px/1.5 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1rem 3rem; background: #fff; }
h1 { font-size: 1.6rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 0.6rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
h3 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
p, li { max-width: 75ch; }
li { margin: 0.3rem 0; }
.table-scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: 0.5rem 0 1rem;
  border: 1px solid #e2e2e2; border-radius: 4px; }
table { border-collapse: collapse; font-size: 0.9rem; min-width: 100%; }
th, td { padding: 0.35rem 0.6rem; border-bottom: 1px solid #eee; text-align: left;
  vertical-align: top; white-space: nowrap; }
td.wrap { white-space: normal; min-width: 16rem; }
thead th { background: #f0f3f7; position: sticky; top: 0; }
tbody th { background: #f7f7f7; white-space: normal; min-width: 9rem; max-width: 18rem;
  position: sticky; left: 0; }
tbody tr:nth-child(even) td { background: #fcfcfc; }
figure { margin: 1rem 0 2rem; }
.panels { display: flex; flex-wrap: wrap; gap: 0.6rem; align-items: flex-start; }
.panels svg { display: block; width: 100%; max-width: 460px; height: auto; border: 1px solid #eee; }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr));
  gap: 0.7rem; margin: 0.5rem 0 1.2rem; }
.card { border: 1px solid #d5dde8; border-left: 5px solid #4e79a7; border-radius: 4px;
  padding: 0.5rem 0.8rem; background: #f7f9fc; }
.card h2 { font-size: 0.95rem; margin: 0; border: 0; padding: 0; color: #444; }
.card .pick { font-size: 1.25rem; font-weight: bold; margin: 0.2rem 0; }
.card p { margin: 0.2rem 0; font-size: 0.9rem; }
figcaption { font-size: 0.9rem; color: #555; margin-top: 0.4rem; max-width: 75ch; }
@media (max-width: 600px) {
  body { font-size: 15px; }
  main { padding: 0.6rem; }
  h1 { font-size: 1.3rem; }
  th, td { padding: 0.3rem 0.4rem; }
}
)";

// Cells with long prose wrap; short values stay on one line.
std::string td(const std::string& text, const char* tag = "td") {
  const bool wrap = text.size() > 60;
  return std::string("<") + tag + (wrap ? " class=\"wrap\"" : "") + ">" + escape_html(text) +
         "</" + tag + ">";
}

void html_table(std::ostringstream& out, const Table& table) {
  out << "<div class=\"table-scroll\"><table>\n<thead>\n";
  if (!table.groups.empty()) {
    out << "<tr>";
    for (const auto& group : table.groups)
      out << "<th colspan=\"" << group.span << "\" scope=\"colgroup\">" << escape_html(group.text)
          << "</th>";
    out << "</tr>\n";
  }
  out << "<tr>";
  for (const auto& cell : table.header) out << "<th scope=\"col\">" << escape_html(cell) << "</th>";
  out << "</tr>\n</thead>\n<tbody>\n";
  for (const auto& row : table.rows) {
    out << "<tr>";
    for (std::size_t i = 0; i < table.header.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      out << td(cell, i == 0 && table.first_column_is_header ? "th" : "td");
    }
    out << "</tr>\n";
  }
  out << "</tbody>\n</table></div>\n";
}

}  // namespace

std::string render_markdown(const Document& document) {
  std::ostringstream out;
  out << "# " << document.title << "\n\n";
  for (const auto& block : document.blocks) {
    if (const auto* h = std::get_if<Heading>(&block)) {
      out << std::string(static_cast<std::size_t>(h->level), '#') << " " << h->text << "\n\n";
    } else if (const auto* p = std::get_if<Paragraph>(&block)) {
      out << p->text << "\n\n";
    } else if (const auto* list = std::get_if<BulletList>(&block)) {
      for (const auto& item : list->items) out << "- " << item << "\n";
      out << "\n";
    } else if (const auto* table = std::get_if<Table>(&block)) {
      markdown_table(out, *table);
    } else if (const auto* figure = std::get_if<FigureBlock>(&block)) {
      out << "![" << figure->caption << "](" << figure->file << ")\n\n*" << figure->caption
          << "*\n\n";
    } else if (const auto* summary = std::get_if<Summary>(&block)) {
      for (const auto& card : summary->cards)
        out << "- **" << card.title << ": " << card.headline << "**. " << card.detail << "\n";
      out << "\n";
    }
  }
  return out.str();
}

std::string render_html(const Document& document) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
      << "<title>" << escape_html(document.title) << "</title>\n<style>" << kStyle
      << "</style>\n</head>\n<body>\n<main>\n<h1>" << escape_html(document.title) << "</h1>\n";
  for (const auto& block : document.blocks) {
    if (const auto* h = std::get_if<Heading>(&block)) {
      out << "<h" << h->level << ">" << escape_html(h->text) << "</h" << h->level << ">\n";
    } else if (const auto* p = std::get_if<Paragraph>(&block)) {
      out << "<p>" << escape_html(p->text) << "</p>\n";
    } else if (const auto* list = std::get_if<BulletList>(&block)) {
      out << "<ul>\n";
      for (const auto& item : list->items) out << "<li>" << escape_html(item) << "</li>\n";
      out << "</ul>\n";
    } else if (const auto* table = std::get_if<Table>(&block)) {
      html_table(out, *table);
    } else if (const auto* figure = std::get_if<FigureBlock>(&block)) {
      out << "<figure>\n<div class=\"panels\">\n";
      for (const auto& panel : figure->panels) out << panel;
      out << "</div>\n<figcaption>" << escape_html(figure->caption) << "</figcaption>\n</figure>\n";
    } else if (const auto* summary = std::get_if<Summary>(&block)) {
      out << "<section class=\"summary\">\n";
      for (const auto& card : summary->cards)
        out << "<div class=\"card\"><h2>" << escape_html(card.title) << "</h2><p class=\"pick\">"
            << escape_html(card.headline) << "</p><p>" << escape_html(card.detail) << "</p></div>\n";
      out << "</section>\n";
    }
  }
  out << "</main>\n</body>\n</html>\n";
  return out.str();
}

}  // namespace libscout::report
