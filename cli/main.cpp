// The ftc command.
#include <cstdio>
#include <vector>

#include "cli/commands.hpp"
#include "ftc/ftc.hpp"

namespace ftc::cli {

int fail(const std::string& what, const std::string& reason) {
  std::fprintf(stderr, "ftc: %s: %s\n", what.c_str(), reason.c_str());
  return 1;
}

}  // namespace ftc::cli

int main(int argc, char** argv) {
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
    app.exit(e);
    return 1;
  }
  for (auto& c : commands)
    if (c.app && c.app->parsed()) return c.run();
  return fail("usage", "no command given (try ftc --help)");
}
