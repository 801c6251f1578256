#pragma once
// Tensor: an owning, 64-byte aligned, row-major float buffer with a shape of up
// to 4 dimensions. TensorView: the same without ownership, for slices and
// reshapes that must not copy. Allocation happens only in Tensor's constructor
// and resize(); hot loops take views.
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace bb {

class Shape {
 public:
  static constexpr int kMaxRank = 4;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[static_cast<size_t>(i)]; }
  int64_t numel() const;
  bool operator==(const Shape& o) const;
  std::string str() const;  // "[2, 3, 28, 28]"

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

class TensorView {
 public:
  TensorView() = default;
  TensorView(float* data, Shape shape) : data_(data), shape_(shape) {}
  float* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_.numel(); }
  int64_t dim(int i) const { return shape_[i]; }
  // Rows [begin, end) of the leading dimension, no copy.
  TensorView slice(int64_t begin, int64_t end) const;
  // Same data, another shape with the same element count.
  TensorView reshape(Shape shape) const;
  float& operator[](int64_t i) const { return data_[i]; }

 private:
  float* data_ = nullptr;
  Shape shape_;
};

class Tensor {
 public:
  static constexpr size_t kAlignment = 64;
  Tensor() = default;
  explicit Tensor(Shape shape);  // zero-filled
  ~Tensor();
  Tensor(Tensor&& o) noexcept;
  Tensor& operator=(Tensor&& o) noexcept;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;
  Tensor clone() const;

  // Reallocates only when the new shape needs more elements than the capacity.
  void resize(Shape shape);

  float* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_.numel(); }
  int64_t dim(int i) const { return shape_[i]; }
  TensorView view() const { return TensorView(data_, shape_); }
  TensorView slice(int64_t begin, int64_t end) const { return view().slice(begin, end); }
  float& operator[](int64_t i) const { return data_[i]; }

 private:
  float* data_ = nullptr;
  int64_t capacity_ = 0;
  Shape shape_;
};

}  // namespace bb
