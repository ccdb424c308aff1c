/// One named tensor of a checkpoint: where its bytes are and how to read them.
public struct TensorInfo: Sendable, Equatable {
    public var name: String
    public var type: TensorType
    /// Row-major shape, outermost dimension first (a GGUF tensor's `ne` reversed), as PyTorch reports it.
    public var shape: [Int]
    /// Offset of the first byte, relative to the start of the file's data section.
    public var dataOffset: Int
    /// Stored size in bytes.
    public var byteCount: Int

    public init(name: String, type: TensorType, shape: [Int], dataOffset: Int, byteCount: Int) {
        self.name = name
        self.type = type
        self.shape = shape
        self.dataOffset = dataOffset
        self.byteCount = byteCount
    }

    /// Number of elements (the product of the shape; 1 for a scalar). A zero dimension makes it 0 whatever
    /// the others are (the parsers reject shapes whose product overflows; a product taken in another order
    /// could overflow before it meets the zero: a fuzzer found that).
    public var elementCount: Int {
        if shape.contains(0) { return 0 }
        return checkedElementCount(shape) ?? 0
    }

    /// The shape as text, e.g. "[576, 1536]".
    public var shapeDescription: String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}

/// The product of `dimensions`, or nil when a dimension is negative or the product overflows.
func checkedElementCount(_ dimensions: [Int]) -> Int? {
    var product = 1
    for dimension in dimensions {
        guard dimension >= 0 else { return nil }
        let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
        if overflow { return nil }
        product = next
    }
    return product
}
