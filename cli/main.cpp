// The ftc command.
#include <cstdio>
#include <new>
#include <vector>

#include "cli/commands.hpp"
#include "cli/text.hpp"
#include "ftc/ftc.hpp"

namespace ftc::cli {

int fail(const std::string& what, const std::string& reason) {
  // A reason that already names `what` (a library message naming its file: "<what>: …", or
  // after a status code name, "corrupt stream: <what>: …") does not name it a second time.
  std::string text = what + ": " + reason;
  const std::string named = what + ": ";
  const std::size_t code_end = reason.find(": ");
  if (reason.starts_with(named)) text = reason;
  else if (code_end != std::string::npos && reason.compare(code_end + 2, named.size(), named) == 0)
    text = what + ": " + reason.substr(0, code_end + 2) + reason.substr(code_end + 2 + named.size());
  std::fprintf(stderr, "ftc: %s\n", printable(text).c_str());
  return 1;
}

}  // namespace ftc::cli

namespace {

// Parses and runs the selected command; every exception ends here (the library does not throw,
// but CLI11, std::filesystem, nlohmann::json, OpenCV and allocation can).
int run(int argc, char** argv) {
  using namespace ftc::cli;

  CLI::App app{"ftc — feature tensor codec for split DNN inference", "ftc"};
  app.set_version_flag("-V,--version", std::string("ftc ") + ftc::version_string() + " (format " +
                                        std::to_string(ftc::kFormatMajor) + "." + std::to_string(ftc::kFormatMinor) + ")");
  app.require_subcommand(1);
  std::vector<Command> commands = {add_encode(app), add_decode(app), add_info(app)};
#ifdef FTC_WITH_PIPELINE
  commands.push_back(add_layers(app));
  commands.push_back(add_split(app));
  commands.push_back(add_eval(app));
  commands.push_back(add_fit(app));
  commands.push_back(add_features(app));
#endif
#ifdef FTC_WITH_LEARN
  commands.push_back(add_learn(app));
#endif
#ifdef FTC_WITH_SERVER
  commands.push_back(add_serve(app));
  commands.push_back(add_infer(app));
  commands.push_back(add_loadtest(app));
#endif
#ifdef FTC_WITH_PIPELINE
  commands.push_back(add_plan(app));
#endif
  if (argc <= 1) {  // no arguments: the help, and success
    std::printf("%s", app.help().c_str());
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail("usage", std::string(e.what()) + " (try ftc --help)");
  }
  for (auto& c : commands)
    if (c.app && c.app->parsed()) return c.run();
  return fail("usage", "no command given (try ftc --help)");
}

}  // namespace

int main(int argc, char** argv) {
  using ftc::cli::fail;
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc&) {
    return fail("error", "out of memory");
  } catch (const std::exception& e) {
    return fail("internal error", e.what());
  } catch (...) {
    return fail("internal error", "unknown exception");
  }
}
