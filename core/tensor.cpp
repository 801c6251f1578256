#include "core/tensor.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace bb {

Shape::Shape(std::initializer_list<int64_t> dims) {
  if (dims.size() > kMaxRank) throw std::invalid_argument("Shape: rank above 4");
  for (int64_t d : dims) {
    if (d < 0) throw std::invalid_argument("Shape: negative dimension");
    dims_[static_cast<size_t>(rank_++)] = d;
  }
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<size_t>(i)];
  return rank_ == 0 ? 0 : n;
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[static_cast<size_t>(i)] != o.dims_[static_cast<size_t>(i)]) return false;
  return true;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[static_cast<size_t>(i)]);
  }
  return s + "]";
}

TensorView TensorView::slice(int64_t begin, int64_t end) const {
  if (shape_.rank() == 0 || begin < 0 || end < begin || end > shape_[0])
    throw std::out_of_range("TensorView::slice: rows [" + std::to_string(begin) + ", " +
                            std::to_string(end) + ") of " + shape_.str());
  int64_t row = shape_[0] == 0 ? 0 : shape_.numel() / shape_[0];
  Shape s = shape_;
  switch (shape_.rank()) {
    case 1: s = Shape{end - begin}; break;
    case 2: s = Shape{end - begin, shape_[1]}; break;
    case 3: s = Shape{end - begin, shape_[1], shape_[2]}; break;
    default: s = Shape{end - begin, shape_[1], shape_[2], shape_[3]}; break;
  }
  return TensorView(data_ + begin * row, s);
}

TensorView TensorView::reshape(Shape shape) const {
  if (shape.numel() != numel())
    throw std::invalid_argument("TensorView::reshape: " + shape_.str() + " -> " + shape.str());
  return TensorView(data_, shape);
}

Tensor::Tensor(Shape shape) { resize(shape); }

Tensor::~Tensor() { std::free(data_); }

Tensor::Tensor(Tensor&& o) noexcept : data_(o.data_), capacity_(o.capacity_), shape_(o.shape_) {
  o.data_ = nullptr;
  o.capacity_ = 0;
  o.shape_ = Shape();
}

Tensor& Tensor::operator=(Tensor&& o) noexcept {
  if (this != &o) {
    std::free(data_);
    data_ = o.data_;
    capacity_ = o.capacity_;
    shape_ = o.shape_;
    o.data_ = nullptr;
    o.capacity_ = 0;
    o.shape_ = Shape();
  }
  return *this;
}

Tensor Tensor::clone() const {
  Tensor t(shape_);
  if (numel() > 0) std::memcpy(t.data_, data_, static_cast<size_t>(numel()) * sizeof(float));
  return t;
}

void Tensor::resize(Shape shape) {
  int64_t n = shape.numel();
  if (n > capacity_) {
    size_t bytes = static_cast<size_t>(n) * sizeof(float);
    bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    auto* p = static_cast<float*>(std::aligned_alloc(kAlignment, bytes));
    if (!p) throw std::bad_alloc();
    std::memset(p, 0, bytes);
    std::free(data_);
    data_ = p;
    capacity_ = n;
  }
  shape_ = shape;
}

}  // namespace bb
