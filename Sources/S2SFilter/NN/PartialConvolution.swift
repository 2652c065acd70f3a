import FilterKit

/// The first layer of the Self2Self U-Net: a partial convolution of the masked input,
/// `out = conv(x·m) · 27 / (Σ₃ₓ₃ₓ₃ m + 1e-8) · clip(Σ m, 0, 1) + b` (notes §2.2): windows with few
/// visible voxels are scaled up, windows with none give the bias. The mask has one channel.
public final class PartialConvolution3D {
    public let convolution: Convolution3D
    public let bias: Parameter

    init(name: String, inputChannels: Int, outputChannels: Int, workspace: ConvolutionWorkspace) {
        convolution = Convolution3D(name: "\(name).conv", inputChannels: inputChannels, outputChannels: outputChannels, bias: false, workspace: workspace)
        bias = Parameter(name: "\(name).bias", torchShape: [outputChannels])
    }

    /// Per voxel `27 / (Σ m + 1e-8) · clip(Σ m, 0, 1)` over the 3×3×3 window ("same" zero padding).
    static func ratio(mask m: Tensor, into r: Tensor) {
        let s = m.shape
        let (mask, out) = (UnsafePointer(m.data), r.data)
        Parallel.forEachChunk(s.batch * s.depth) { planes in
            for plane in planes {
                let n = plane / s.depth, z = plane % s.depth
                for y in 0..<s.height {
                    for x in 0..<s.width {
                        var sum: Float = 0
                        for dz in -1...1 where z + dz >= 0 && z + dz < s.depth {
                            for dy in -1...1 where y + dy >= 0 && y + dy < s.height {
                                let row = mask + ((n * s.depth + z + dz) * s.height + y + dy) * s.width
                                for dx in -1...1 where x + dx >= 0 && x + dx < s.width { sum += row[x + dx] }
                            }
                        }
                        out[((n * s.depth + z) * s.height + y) * s.width + x] = 27 / (sum + 1e-8) * min(max(sum, 0), 1)
                    }
                }
            }
        }
    }

    /// `y = conv(masked) · ratio + b` (`masked` is x·m; `ratio` from ``ratio(mask:into:)``).
    func forward(masked: Tensor, ratio: Tensor, into y: Tensor) {
        convolution.forward(masked, into: y)
        let c = y.shape.channels
        let (out, r, b) = (y.data, UnsafePointer(ratio.data), UnsafePointer(bias.value))
        Parallel.forEachChunk(y.shape.voxels, minimumChunk: 1024) { voxels in
            for v in voxels {
                let row = out + v * c, s = r[v]
                for o in 0..<c { row[o] = row[o] * s + b[o] }
            }
        }
    }

    /// Adds the weight and bias gradients; `dy` is scaled in place by the ratio (it is not needed
    /// afterwards: the input needs no gradient).
    func backward(masked: Tensor, ratio: Tensor, outputGradient dy: Tensor) {
        let c = dy.shape.channels
        let (g, r) = (dy.data, UnsafePointer(ratio.data))
        for v in 0..<dy.shape.voxels {
            let row = g + v * c
            for o in 0..<c { bias.gradient[o] += row[o] }
        }
        Parallel.forEachChunk(dy.shape.voxels, minimumChunk: 1024) { voxels in
            for v in voxels {
                let row = g + v * c, s = r[v]
                for o in 0..<c { row[o] *= s }
            }
        }
        convolution.backward(input: masked, outputGradient: dy, inputGradient: nil)
    }
}
