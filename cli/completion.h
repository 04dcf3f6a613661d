// `pgqrs completion bash|zsh|fish`: shell completion scripts generated from the CLI11 command
// tree, so every group, command and option the parser knows is completed, and nothing else.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace pgqrs::cli {

// The shells completion_script() supports, for the command's argument check and help.
inline constexpr const char* kCompletionShells[] = {"bash", "zsh", "fish"};

// The completion script for `shell` ("bash", "zsh" or "fish") describing `app`'s tree as it
// is when called (call after every command is registered). Throws std::invalid_argument for
// another shell.
std::string completion_script(CLI::App& app, const std::string& shell);

}  // namespace pgqrs::cli
