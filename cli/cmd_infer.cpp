// ftc infer --head HEAD.onnx --server URL [--codec-model C.ftcm | codec flags] [--uplink 1mbit] IMAGE…
// ftc infer --cloud png|jpeg --server URL [--jpeg-quality Q] [--uplink 1mbit] IMAGE…   (cloud-only)
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/device_flags.hpp"
#include "cli/text.hpp"
#include "runtime/units.hpp"
#include "server/client.hpp"

namespace ftc::cli {

Command add_infer(CLI::App& root) {
  struct Args {
    DeviceFlags device;
    std::string server;
    std::string uplink;
    std::vector<std::string> images;
    std::string cloud;
    int jpeg_quality = 90;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* sub = root.add_subcommand("infer", "Device side of split inference: run the head, encode, send to ftc serve, print the class");
  add_device_flags(*sub, a->device, /*head_required=*/false);
  auto* cloud = sub->add_option("--cloud", a->cloud,
                                "Cloud-only: no head; send each image as png or jpeg to an --image-model of ftc serve")
                    ->check(CLI::IsMember({"png", "jpeg"}));
  sub->add_option("--jpeg-quality", a->jpeg_quality, "With --cloud jpeg: the quality")->check(CLI::Range(1, 100))->capture_default_str();
  cloud->excludes("--head")->excludes("--codec-model");
  sub->add_option("--server", a->server, "Server URL: http://HOST:PORT[/v1/infer[/NAME]]")->required();
  sub->add_option("--uplink", a->uplink, "Throttle the upload to this rate (1mbit, 250kbit, …) to simulate a link");
  sub->add_flag("--json", a->json, "One JSON object per image on stdout");
  sub->add_option("images", a->images, "Images: PNG, JPEG, or .npy (u8 image or f32 head input)")->required();
  sub->footer(
      "Per image: the class and the latency breakdown — head, encode, transfer (round trip less the\n"
      "server's time), server (decode + queue + tail), total. Exit 1 when an image could not be classified.");
  return {sub, [a]() -> int {
    const bool cloud_only = !a->cloud.empty();
    if (!cloud_only && a->device.head.empty()) return fail("infer", "give --head HEAD.onnx, or --cloud png|jpeg");
    if (cloud_only) {
      if (auto given = a->device.codec->given(); !given.ok() || !given->empty())
        return fail("infer", "--cloud sends the input image: codec flags do not apply");
    } else if (Status s = a->device.resolve(); !s.ok()) {
      return fail("infer", s.message());
    }
    double bps = 0;
    if (!a->uplink.empty()) {
      auto r = runtime::parse_bit_rate(a->uplink);
      if (!r.ok()) return fail("--uplink", r.status().message());
      bps = *r;
    }
    auto url = server::parse_url(a->server);
    if (!url.ok()) return fail("--server", url.status().message());
    auto client = cloud_only ? server::DeviceClient::create_cloud(*url, bps)
                             : server::DeviceClient::create(a->device.head, a->device.options, *url, bps);
    if (!client.ok()) return fail(cloud_only ? "infer" : a->device.head, client.status().message());
    const int quality = a->cloud == "jpeg" ? a->jpeg_quality : 0;
    const std::string coding = cloud_only ? "cloud-only, the input image as " + a->cloud +
                                                (quality ? " q=" + std::to_string(quality) : std::string())
                                          : a->device.codec_text;
    int failures = 0;
    if (!a->json)
      std::printf("coding: %s%s\n", printable(coding).c_str(), bps > 0 ? (", uplink " + printable(a->uplink)).c_str() : "");
    for (const auto& path : a->images) {
      auto x = cloud_only ? load_image(path) : load_head_input(path, a->device);
      if (!x.ok()) {
        fail(path, x.status().message());
        ++failures;
        continue;
      }
      auto p = cloud_only ? (*client)->infer_image(*x, quality) : (*client)->infer(x->view());
      if (!p.ok()) {
        fail(path, p.status().message());
        ++failures;
        continue;
      }
      const auto& ans = p->answer;
      if (ans.status != 200) {
        ++failures;
        const std::string why = ans.status == 0 ? a->server + ": " + ans.error
                                                : "server answered " + std::to_string(ans.status) + " " + ans.error + ": " + ans.reason;
        if (!a->json) fail(path, why);
      }
      if (a->json) {
        nlohmann::json j;
        j["image"] = path;
        j["status"] = ans.status;
        if (ans.status == 200) {
          j["class"] = ans.cls;
          j["scores"] = ans.scores;
        } else {
          j["error"] = ans.error;
          j["reason"] = ans.reason;
        }
        j["frame_bytes"] = p->frame_bytes;
        j["head_ms"] = p->timing.head_ms;
        j["encode_ms"] = p->timing.encode_ms;
        j["transfer_ms"] = p->timing.transfer_ms;
        j["server_ms"] = p->timing.server_ms;
        j["decode_ms"] = ans.decode_ms;
        j["tail_ms"] = ans.tail_ms;
        j["total_ms"] = p->timing.total_ms;
        j["uplink_bps"] = bps;
        std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      } else if (ans.status == 200) {
        std::printf("%s: class %d  (%zu bytes)  head %.2f ms  encode %.2f ms  transfer %.2f ms  server %.2f ms "
                    "(decode %.2f, tail %.2f)  total %.2f ms\n",
                    printable(path).c_str(), ans.cls, p->frame_bytes, p->timing.head_ms, p->timing.encode_ms,
                    p->timing.transfer_ms, p->timing.server_ms, ans.decode_ms, ans.tail_ms, p->timing.total_ms);
      }
      std::fflush(stdout);
    }
    return failures ? 1 : 0;
  }};
}

}  // namespace ftc::cli
