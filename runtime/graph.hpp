// ONNX graph surgery for split inference (libonnx): load a model, list the tensors where it can be
// cut, cut it into a head (device) and a tail (server), save both, and check that head → tail
// computes what the full model computes.
//
// A cut is a set of tensors. The head is every node needed to compute them; the tail is the rest.
// The head outputs every tensor it produces that the tail consumes (the cut set plus any tensor
// that crosses the cut beside it — the skip of a residual block, the other levels of a feature
// pyramid); the tail takes exactly those as inputs. They travel together in one ftc frame.
// Nodes that depend on no graph input (Constant, shape arithmetic on weights) are copied to
// whichever side needs them, as are initializers; node order stays topological.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ftc/ftc.hpp"
#include "runtime/executor.hpp"

namespace ftc::runtime {

// A dimension is a non-negative size, or -1 when it is dynamic or unknown; `dim_names` keeps the
// symbolic name (ONNX dim_param, e.g. "N") where there is one, else "".
struct TensorShapeInfo {
  std::string name;
  std::optional<DType> dtype;          // nullopt: an element type ftc has no code for (or unknown)
  int onnx_elem_type = 0;              // ONNX TensorProto.DataType
  std::optional<Shape> shape;          // nullopt: rank unknown
  std::vector<std::string> dim_names;
  // Product of the dims when every dim is known.
  std::optional<std::uint64_t> element_count() const;
  // "[1,32,28,28]", "[N,5]", "[?]" for unknown rank.
  std::string shape_string() const;
};

// One candidate split tensor as `ftc layers` lists it.
struct Layer {
  std::string tensor;                  // the tensor's name (what --at takes)
  std::string node;                    // the node producing it
  std::string op_type;
  std::size_t node_index = 0;          // position of that node in topological order
  TensorShapeInfo info;
  std::uint64_t head_macs = 0;         // multiply-accumulates of every node the head needs
  bool head_macs_exact = true;         // false when a Conv/Gemm/MatMul shape was unknown (counted as 0)
                                       // or had symbolic dims (counted with those dims = 1)
  // The tensors a cut here sends, in the order the head outputs them: {tensor} for a
  // single-tensor cut, more when the cut crosses a skip connection.
  std::vector<std::string> cut;
  std::optional<std::uint64_t> cut_elements;  // sum over `cut`, when all are known
  bool single() const { return cut.size() == 1; }
};

struct SplitInfo {
  std::vector<std::string> requested;  // the --at tensors as given
  std::vector<std::string> cut;        // what the head outputs and the tail takes, in that order
  std::vector<std::string> added;      // tensors of `cut` that were not requested
  std::vector<TensorShapeInfo> cut_info;
  std::size_t head_nodes = 0;
  std::size_t tail_nodes = 0;
  std::uint64_t head_macs = 0;
  std::uint64_t tail_macs = 0;
};

struct Split;

class Graph {
 public:
  Graph();
  ~Graph();
  Graph(Graph&&) noexcept;
  Graph& operator=(Graph&&) noexcept;

  // Reads a model (`name` labels error messages). Fails with bad_file when the bytes are not an
  // ONNX ModelProto or the model fails onnx::checker.
  static Result<Graph> load(const std::string& path);
  static Result<Graph> parse(std::span<const std::uint8_t> bytes, const std::string& name = "model");

  const std::string& name() const;
  // Graph inputs that are not initializers, with their declared shapes.
  std::vector<TensorShapeInfo> inputs() const;
  std::vector<TensorShapeInfo> outputs() const;
  std::size_t node_count() const;

  // Fixes the dims of an input (dynamic dims take the given size; a fixed dim must agree).
  Status set_input_shape(const std::string& input, const Shape& shape);
  // Applies a --input-shape spec: "1,1,28,28" (the only input) or "NAME:1,3,224,224[;NAME2:…]".
  Status set_input_shapes(std::string_view spec);

  // Shape and type of any tensor, via onnx shape inference (cached).
  Result<TensorShapeInfo> tensor_info(const std::string& tensor) const;
  // Candidate split tensors in topological order: every node output that graph inputs reach,
  // that something consumes and that is not a graph output. single() ones disconnect the inputs
  // from the outputs alone; the others need the listed `cut`.
  Result<std::vector<Layer>> layers() const;
  // Multiply-accumulates of the whole graph (Conv, ConvTranspose, Gemm, MatMul); symbolic dims
  // count as 1.
  std::uint64_t total_macs() const;

  // Cuts at `at` (see the file comment). Both parts pass onnx::checker. Errors name the tensor:
  // unknown tensor, a graph input, a cut the tail can bypass (it would need a graph input), a
  // graph output computed in the head, a requested tensor that nothing after the cut uses.
  Result<Split> split(const std::vector<std::string>& at) const;

  Result<std::vector<std::uint8_t>> serialize() const;
  // serialize() to `path`, all-or-nothing (io::write_file; an existing file is replaced).
  Status save(const std::string& path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  friend struct GraphAccess;
};

struct Split {
  Graph head;
  Graph tail;
  SplitInfo info;
};

// Bytes written per part by save_split (0 for a part not asked for).
struct SplitSizes {
  std::size_t head = 0, tail = 0;
};
// Writes the head to `head_path` and the tail to `tail_path` (an empty path: that part is not
// written), all or nothing: both are serialized and written to temporary files first, then renamed
// together (io::commit_together), so that a failure leaves neither new file and every existing
// one as it was. `replace` false refuses existing targets (the CLI without -f).
Result<SplitSizes> save_split(const Split& split, const std::string& head_path, const std::string& tail_path,
                              bool replace);

// An executor over an in-memory graph (OpenCV DNN; implemented in opencv_executor.cpp).
Result<std::unique_ptr<Executor>> make_opencv_executor(const Graph& graph);
Result<std::unique_ptr<Executor>> make_opencv_executor_from_bytes(std::span<const std::uint8_t> onnx,
                                                                  const std::string& name);

// Head then tail against the full model on seeded random input, uniform in [-1, 1], with the
// full model's input shapes (dynamic dims taken as 1).
struct CompositionReport {
  bool passed = false;
  double tolerance = 0;
  double max_abs_error = 0;            // max |full − composed| over every output element
  double rel_error = 0;                // max over outputs of max|a−b| / max(1, max|a|)
  std::string worst_output;
  std::vector<std::pair<std::string, Shape>> inputs;  // the shapes fed
  std::string to_string() const;
};
Result<CompositionReport> check_composition(Executor& full, Executor& head, Executor& tail,
                                            const std::vector<TensorShapeInfo>& inputs,
                                            std::uint64_t seed = 1, double tolerance = 1e-4);
// Convenience: builds OpenCV executors for the three graphs.
Result<CompositionReport> check_composition(const Graph& full, const Split& split,
                                            std::uint64_t seed = 1, double tolerance = 1e-4);

}  // namespace ftc::runtime
