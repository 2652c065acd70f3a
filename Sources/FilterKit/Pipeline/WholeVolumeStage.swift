/// How a ``WholeVolumeStage`` will run, chosen by the memory planner before any voxel is read.
public struct WholeVolumeReservation: Sendable, Equatable, CustomStringConvertible {
    /// A short name for messages and logs, such as `in memory` or `out of core`.
    public var mode: String
    /// Bytes the stage holds while it runs (scratch files not counted).
    public var bytes: Int

    public init(mode: String, bytes: Int) {
        self.mode = mode
        self.bytes = bytes
    }

    public var description: String { "\(mode), \(ByteCount(bytes))" }
}

/// A stage that needs every input section before it can produce any output, such as an exact
/// FFT filter of the whole volume.
///
/// The framework feeds it its input once, in order, with ``absorb(_:from:count:)`` (from a file
/// or a pipe alike: no spooling), calls ``finishInput()``, then asks for the output in order with
/// ``emit(_:into:)``. The planner grants it the memory the rest of the chain leaves within the
/// budget, and the stage picks how to run in it (``reserve(for:available:)``): the whole volume
/// in memory when it fits, an out-of-core scheme with scratch files otherwise.
///
/// A stage may be run more than once by one pipeline (when a later stage makes a prepass):
/// every run starts with ``begin(input:reservation:)`` and ends with ``end()``.
public protocol WholeVolumeStage: Stage {
    /// The least memory the stage can run in on `input`, for the message when nothing fits.
    func minimumBytes(for input: VolumeInfo) -> Int

    /// How the stage would run on `input` within `available` bytes, or nil when it cannot.
    func reserve(for input: VolumeInfo, available: Int) -> WholeVolumeReservation?

    /// Starts a run over `input` as `reservation` (one that ``reserve(for:available:)`` returned).
    func begin(input: VolumeInfo, reservation: WholeVolumeReservation) throws

    /// Takes whole input sections `z ..< z + count` (X fastest), in order from section 0.
    func absorb(_ sections: UnsafePointer<Float>, from z: Int, count: Int) throws

    /// Called once every input section was absorbed: the global work happens here.
    func finishInput() throws

    /// Writes output sections `sections` (whole sections, X fastest), in order.
    func emit(_ sections: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws

    /// Releases the run's memory and scratch files; called after the last section, or on failure.
    func end()
}
