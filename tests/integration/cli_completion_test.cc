// `pgqrs --version` and `pgqrs completion bash|zsh|fish`: the completion scripts are loaded
// into the real shells (bash, zsh, fish; scripts/bootstrap installs them) and asked what
// they complete, as a user's shell would.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pgqrs/version.h"

#ifndef PGQRS_CLI_PATH
#error "PGQRS_CLI_PATH must name the pgqrs binary"
#endif

namespace {

namespace fs = std::filesystem;

struct Output {
  int exit_code = -1;
  std::string text;  // stdout and stderr
};

// Runs `command` with /bin/sh, capturing stdout and stderr together.
Output sh(const std::string& command) {
  Output result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << command;
    return result;
  }
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.text.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string cli() { return std::string("'") + PGQRS_CLI_PATH + "'"; }

bool have(const std::string& program) {
  return sh("command -v " + program + " >/dev/null").exit_code == 0;
}

// The completion script for `shell`, written to a file in the test's temporary directory.
fs::path script_file(const std::string& shell) {
  fs::path file =
      fs::temp_directory_path() / ("pgqrs-completion-" + std::to_string(getpid()) + "." + shell);
  Output out = sh(cli() + " completion " + shell + " > '" + file.string() + "'");
  EXPECT_EQ(out.exit_code, 0) << out.text;
  return file;
}

TEST(CliVersion, ReportsLibrarySchemaAndBackends) {
  const pgqrs::BuildInfo info = pgqrs::build_info();
  Output out = sh(cli() + " --version");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  EXPECT_NE(out.text.find("pgqrs " + info.library_version + "\n"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("schema version " + std::to_string(info.schema_version)),
            std::string::npos)
      << out.text;
  ASSERT_FALSE(info.backends.empty());
  for (const std::string& backend : info.backends) {
    EXPECT_NE(out.text.find(backend), std::string::npos) << backend << " missing: " << out.text;
  }
  EXPECT_NE(out.text.find("sqlite"), std::string::npos);
}

TEST(CliVersion, JsonFormatIsOneDocument) {
  const pgqrs::BuildInfo info = pgqrs::build_info();
  for (const char* args : {" --format json --version", " --version --format=json"}) {
    Output out = sh(cli() + args);
    ASSERT_EQ(out.exit_code, 0) << out.text;
    const nlohmann::json doc = nlohmann::json::parse(out.text);
    EXPECT_EQ(doc.at("version"), info.library_version);
    EXPECT_EQ(doc.at("schema_version"), info.schema_version);
    EXPECT_EQ(doc.at("backends"), nlohmann::json(info.backends));
  }
}

TEST(CliCompletion, BashCompletesGroupsCommandsAndOptions) {
  const fs::path file = script_file("bash");
  // complete WORDS...: the candidates the function offers for the last word.
  auto complete = [&](const std::string& words) {
    return sh("bash -c 'source \"" + file.string() + "\"; COMP_WORDS=(" + words +
              "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _pgqrs; echo \"${COMPREPLY[*]}\"'");
  };
  Output top = complete("pgqrs \"\"");
  ASSERT_EQ(top.exit_code, 0) << top.text;
  for (const char* group : {"admin", "queue", "worker", "workflow", "completion", "--dsn"}) {
    EXPECT_NE(top.text.find(group), std::string::npos) << group << ": " << top.text;
  }
  EXPECT_EQ(complete("pgqrs queue me").text, "messages metrics\n");
  // Option values are skipped when finding the command path.
  EXPECT_EQ(complete("pgqrs --dsn sqlite:///x.db workflow ru").text, "runs run\n");
  EXPECT_EQ(complete("pgqrs queue messages --li").text, "--limit\n");
  EXPECT_EQ(complete("pgqrs completion --for").text, "--format\n");
  fs::remove(file);
}

TEST(CliCompletion, FishCompletesWithDescriptions) {
  if (!have("fish")) GTEST_SKIP() << "fish is not installed (scripts/bootstrap installs it)";
  const fs::path file = script_file("fish");
  Output out = sh("fish -c 'source \"" + file.string() + "\"; complete -C \"pgqrs worker sus\"'");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  EXPECT_EQ(out.text.rfind("suspend\t", 0), 0u) << out.text;
  Output options =
      sh("fish -c 'source \"" + file.string() + "\"; complete -C \"pgqrs queue messages --\"'");
  EXPECT_NE(options.text.find("--limit\t"), std::string::npos) << options.text;
  EXPECT_NE(options.text.find("--dsn\t"), std::string::npos) << options.text;
  fs::remove(file);
}

TEST(CliCompletion, ZshRegistersTheCompleter) {
  if (!have("zsh")) GTEST_SKIP() << "zsh is not installed (scripts/bootstrap installs it)";
  const fs::path file = script_file("zsh");
  Output out = sh("zsh -f -c 'autoload -U compinit && compinit -u -D && source \"" + file.string() +
                  "\" && print -r -- \"$_comps[pgqrs]\"'");
  ASSERT_EQ(out.exit_code, 0) << out.text;
  EXPECT_EQ(out.text, "_bash_complete -F _pgqrs\n");
  fs::remove(file);
}

TEST(CliCompletion, JsonFormatAndUnknownShell) {
  Output json = sh(cli() + " --format json completion bash");
  ASSERT_EQ(json.exit_code, 0) << json.text;
  const nlohmann::json doc = nlohmann::json::parse(json.text);
  EXPECT_EQ(doc.at("shell"), "bash");
  EXPECT_NE(doc.at("script").get<std::string>().find("complete -F _pgqrs pgqrs"),
            std::string::npos);

  Output bad = sh(cli() + " completion tcsh");
  EXPECT_EQ(bad.exit_code, 2) << bad.text;
  EXPECT_NE(bad.text.find("tcsh"), std::string::npos) << bad.text;
}

}  // namespace
