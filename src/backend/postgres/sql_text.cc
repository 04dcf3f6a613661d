#include "backend/postgres/sql_text.h"

namespace pgqrs::pg {

std::string with_schema(std::string_view tmpl, const std::string& quoted_schema) {
  constexpr std::string_view kMarker = "{s}";
  std::string out;
  out.reserve(tmpl.size() + 8 * quoted_schema.size());
  std::size_t pos = 0;
  for (auto hit = tmpl.find(kMarker); hit != std::string_view::npos;
       hit = tmpl.find(kMarker, pos)) {
    out.append(tmpl.substr(pos, hit - pos));
    out.append(quoted_schema);
    pos = hit + kMarker.size();
  }
  out.append(tmpl.substr(pos));
  return out;
}

const Statement& StatementCache::operator()(const char* tmpl) {
  std::lock_guard lock(mu_);
  auto it = built_.find(tmpl);
  if (it == built_.end()) {
    it = built_.emplace(tmpl, make_statement(with_schema(tmpl, schema_))).first;
  }
  return it->second;
}

}  // namespace pgqrs::pg
