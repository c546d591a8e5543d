// The ftc command's subcommands. Each add_* registers one subcommand on the app and returns the
// function to run when it is the one selected. A command prints a one-line error naming the file
// and the reason on failure and returns the process exit code (0 ok, 1 error).
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace ftc::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_encode(CLI::App& root);
Command add_decode(CLI::App& root);
Command add_info(CLI::App& root);
#ifdef FTC_WITH_PIPELINE
Command add_layers(CLI::App& root);     // ftc layers MODEL.onnx         (cli/cmd_layers.cpp)
Command add_split(CLI::App& root);      // ftc split MODEL.onnx --at …   (cli/cmd_split.cpp)
Command add_eval(CLI::App& root);       // ftc eval --model …            (cli/cmd_eval.cpp)
Command add_fit(CLI::App& root);        // ftc fit --model … -o C.ftcm   (cli/cmd_fit.cpp)
Command add_features(CLI::App& root);   // ftc features --model …        (cli/cmd_features.cpp)
#endif
#ifdef FTC_WITH_SERVER
Command add_serve(CLI::App& root);      // ftc serve --tail T.onnx …      (cli/cmd_serve.cpp)
Command add_infer(CLI::App& root);      // ftc infer --head H.onnx …      (cli/cmd_infer.cpp)
Command add_loadtest(CLI::App& root);   // ftc loadtest --server URL …    (cli/cmd_loadtest.cpp)
#endif

#ifdef FTC_WITH_LEARN
Command add_learn(CLI::App& root);      // ftc learn --model … --out DIR / --pack DIR (cli/cmd_learn.cpp)
#endif

#ifdef FTC_WITH_PIPELINE
Command add_plan(CLI::App& root);       // ftc plan --model … --uplink …  (cli/cmd_plan.cpp)
#endif

// Prints "ftc: <what>: <reason>" to stderr and returns 1.
int fail(const std::string& what, const std::string& reason);

}  // namespace ftc::cli
