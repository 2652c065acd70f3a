/// A step of a filter chain. Every stage takes part in the *information* phase of ITK/VTK
/// pipelines: ``outputInfo(for:)`` maps the input's ``VolumeInfo`` to the output's and validates
/// parameters against it, before any voxel is read. How the stage then sees voxels depends on
/// which refinement it adopts:
///
/// - ``StreamingStage``: streams. It names the input region each output tile needs (its halo) and
///   computes tiles one slab at a time; the framework pads at the faces and shares planes.
/// - ``PrepassStage``: a streaming stage that first reads its whole input for global statistics.
/// - ``WholeVolumeStage``: needs every input section before it can produce any output (an
///   exact FFT filter); it chooses, within the memory it is granted, whether to hold the volume
///   in memory or to work out of core.
///
/// A stage instance is used by one pipeline at a time, from one thread at a time.
public protocol Stage: AnyObject {
    /// The chain name, such as `gaussian`; used in messages.
    var name: String { get }

    /// The output volume's description; throws ``FilterError/invalidParameter(name:value:expected:)``
    /// (or another error) when the parameters do not suit this input.
    func outputInfo(for input: VolumeInfo) throws -> VolumeInfo

    /// A memory budget (bytes) this stage needs to run on ordinary volumes, when more than the
    /// usual default; the command line uses the largest of a chain's when `--memory` is not given.
    var suggestedMemoryBudget: Int? { get }
}

extension Stage {
    public var suggestedMemoryBudget: Int? { nil }
}

/// A streaming stage, in the *region* and *data* phases of ITK/VTK pipelines.
///
/// - **Region**: ``inputBox(forOutput:)`` says which input voxels an output box needs (the box
///   grown by the halo for a neighbourhood filter; scaled for binning; shifted for cropping).
///   The box may reach past the volume: the framework pads with ``boundary``.
/// - **Data**: ``process(_:into:)`` computes one output tile from its padded input tile.
public protocol StreamingStage: Stage {
    /// How padding is made up past the volume's faces.
    var boundary: BoundaryMode { get }

    /// The input region needed to compute `output` (in input voxel coordinates).
    func inputBox(forOutput output: Box) -> Box

    /// Scratch memory `process` needs for an output box of this size, in bytes.
    func scratchBytes(forOutput output: Box) -> Int

    /// The most input sections ``inputBox(forOutput:)`` asks for when given `count` output sections
    /// anywhere in the volume, when that depends on where they are (a stage working on a fixed
    /// grid of tiles); nil when every position needs the same (the default).
    func maximumInputSections(forOutputSections count: Int) -> Int?

    /// Computes `output.box` of the output from `input` (exactly ``inputBox(forOutput:)``, padded).
    func process(_ input: InputRegion, into output: OutputRegion) throws

    /// Whether ``process(_:into:)`` computes any X-Y part of the output from its input box
    /// (``inputBox(forOutput:)`` of that part), so that the planner may run the chain on bricks
    /// when whole sections do not fit the budget. Neighbourhood and pointwise filters can;
    /// stages whose output depends on where a box starts or that read whole sections cannot
    /// (the default: false).
    var supportsBricks: Bool { get }

    /// Bricks the planner chooses are a multiple of this in X and Y (the side of the tiles the
    /// stage computes anyway; 1 by default).
    var brickAlignment: Int { get }

    /// Asks the stage to work in less memory (smaller working blocks, at some cost in speed) when
    /// the chain does not fit the budget; returns what it changed, or nil when it cannot. The
    /// planner asks before refusing a chain, then plans again.
    func reduceMemory() -> String?
}

extension StreamingStage {
    public var boundary: BoundaryMode { .nearest }
    public var supportsBricks: Bool { false }
    public var brickAlignment: Int { 1 }
    public func reduceMemory() -> String? { nil }
    public func scratchBytes(forOutput output: Box) -> Int { 0 }
    public func maximumInputSections(forOutputSections count: Int) -> Int? { nil }
}

/// A streaming stage that reads its whole input once (or more) before processing, for global statistics.
///
/// The framework re-reads a file input, or spools a pipe to `$TMPDIR`, to make the passes.
public protocol PrepassStage: StreamingStage {
    /// How many full passes over the input the stage needs before processing (0 when it was
    /// given what it would measure, as with `--stats FILE`).
    var prepassCount: Int { get }
    /// Called with consecutive whole input sections of pass `pass` (0-based), in order.
    func prepass(_ pass: Int, sections: UnsafePointer<Float>, count: Int, info: VolumeInfo) throws
    /// Called when pass `pass` has seen every section.
    func finishPrepass(_ pass: Int) throws
}

/// A stage that reads a second volume of its input's geometry in lockstep with its input: two
/// independent reconstructions of the same specimen (even and odd tilts or frames), as
/// Noise2Noise training needs.
///
/// The pipeline checks the two volumes agree (size, voxel size) before reading a voxel, spools a
/// pipe for either when a prepass needs it, and feeds both through ``prepass(_:sections:second:count:info:)``
/// and ``process(_:second:into:)`` instead of the one-input calls. A paired stage comes first in
/// its chain: the second input reaches it as read.
public protocol PairedInputStage: PrepassStage {
    /// Whether this instance reads a second input (a stage may take one only with some parameters).
    var takesSecondInput: Bool { get }
    /// The prepass over both inputs: the same sections of each.
    func prepass(_ pass: Int, sections: UnsafePointer<Float>, second: UnsafePointer<Float>, count: Int, info: VolumeInfo) throws
    /// Computes `output.box` from both inputs' padded tiles (the same box of each).
    func process(_ input: InputRegion, second: InputRegion, into output: OutputRegion) throws
}

/// The input voxels of a region, as one XY plane per section.
///
/// Plane `k` holds section `box.origin.z + k`: `box.size.x × box.size.y` voxels, X fastest,
/// already padded past the volume's faces. Planes are not contiguous with each other (the
/// framework shares them between neighbouring regions instead of copying), and a plane standing
/// for a section outside the volume may be the same memory as its mirror image inside.
public struct InputRegion {
    public let box: Box
    @usableFromInline let planes: UnsafePointer<UnsafePointer<Float>>

    @inlinable
    public init(box: Box, planes: UnsafePointer<UnsafePointer<Float>>) {
        self.box = box
        self.planes = planes
    }

    /// Plane `k` (0-based from `box.origin.z`); debug builds check that the tile has it.
    @inlinable
    public func plane(_ k: Int) -> UnsafePointer<Float> {
        assert(k >= 0 && k < box.size.z, "plane \(k) of a tile of \(box.size.z)")
        return planes[k]
    }

    /// Voxels per plane.
    @inlinable
    public var planeVoxels: Int { box.size.x &* box.size.y }
}

/// Room for the voxels of an output region, X fastest, contiguous.
public struct OutputRegion {
    public let box: Box
    public let data: UnsafeMutablePointer<Float>

    @inlinable
    public init(box: Box, data: UnsafeMutablePointer<Float>) {
        self.box = box
        self.data = data
    }
    /// Plane `k` of the output (0-based from `box.origin.z`); debug builds check that the tile has it.
    @inlinable
    public func plane(_ k: Int) -> UnsafeMutablePointer<Float> {
        assert(k >= 0 && k < box.size.z, "plane \(k) of a tile of \(box.size.z)")
        return data + k &* (box.size.x &* box.size.y)
    }

    /// Copies the input's planes unchanged (stages that only measure, such as `stats` and
    /// `noise`, whose input box is their output box).
    @inlinable
    public func copyPlanes(of input: InputRegion) {
        assert(input.box.size == box.size, "copying planes of \(input.box.size) into \(box.size)")
        for t in 0..<box.size.z { (data + t * input.planeVoxels).update(from: input.plane(t), count: input.planeVoxels) }
    }
}

/// A stage that keeps the shape and needs `halo` voxels on each side (a neighbourhood filter).
public protocol HaloStage: StreamingStage {
    var halo: SIMD3<Int> { get }
}

extension HaloStage {
    public func inputBox(forOutput output: Box) -> Box { output.padded(by: halo) }
}
