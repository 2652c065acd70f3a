import CKernels
import FilterKit

/// The parameter-free layers of the U-Net, forward and backward, on channels-last tensors.
/// Loops split across ``Parallel/threads``; nothing allocates.
public enum Layers {
    /// Elements per parallel piece at least (small loops stay on one thread).
    static let grain = 1 << 15

    // MARK: LeakyReLU (slope 0.1)

    public static let leak: Float = 0.1

    /// In place: x ← x > 0 ? x : 0.1·x.
    public static func leakyReLU(_ x: Tensor) {
        let p = x.data
        Parallel.forEachChunk(x.count, minimumChunk: grain) { r in
            for i in r { let v = p[i]; p[i] = v > 0 ? v : v * leak }
        }
    }

    /// In place on the gradient: dy ← dy · (y > 0 ? 1 : 0.1), `y` the layer's output (its sign is
    /// the input's, the slope being positive).
    public static func leakyReLUBackward(output y: Tensor, gradient dy: Tensor) {
        let (o, g) = (UnsafePointer(y.data), dy.data)
        Parallel.forEachChunk(y.count, minimumChunk: grain) { r in
            for i in r { g[i] = o[i] > 0 ? g[i] : g[i] * leak }
        }
    }

    // MARK: 2× max-pool

    /// y = max over each 2×2×2 block; `argmax` (one byte per output element) remembers the winner.
    public static func maxPool(_ x: Tensor, into y: Tensor, argmax: UnsafeMutablePointer<UInt8>) {
        let s = x.shape, o = y.shape, c = s.channels
        precondition(o == s.halved)
        let (src, dst) = (UnsafePointer(x.data), y.data)
        let planes = o.batch * o.depth
        Parallel.forEachChunk(planes) { range in
            for plane in range {
                let n = plane / o.depth, z = plane % o.depth
                for yy in 0..<o.height {
                    for xx in 0..<o.width {
                        let out = (((n * o.depth + z) * o.height + yy) * o.width + xx) * c
                        for ch in 0..<c {
                            var best = -Float.infinity, which: UInt8 = 0
                            for j in 0..<8 {
                                let dz = j >> 2, dy = (j >> 1) & 1, dx = j & 1
                                let v = src[((((n * s.depth + 2 * z + dz) * s.height + 2 * yy + dy) * s.width + 2 * xx + dx) * c) + ch]
                                if v > best || j == 0 { best = v; which = UInt8(j) }
                            }
                            dst[out + ch] = best
                            argmax[out + ch] = which
                        }
                    }
                }
            }
        }
    }

    /// dx = dy routed to each block's winner (zeros elsewhere, and in rows an odd size left out).
    public static func maxPoolBackward(gradient dy: Tensor, argmax: UnsafePointer<UInt8>, into dx: Tensor) {
        dx.zero()
        let s = dx.shape, o = dy.shape, c = s.channels
        let (g, out) = (UnsafePointer(dy.data), dx.data)
        Parallel.forEachChunk(o.batch * o.depth) { range in
            for plane in range {
                let n = plane / o.depth, z = plane % o.depth
                for yy in 0..<o.height {
                    for xx in 0..<o.width {
                        let i = (((n * o.depth + z) * o.height + yy) * o.width + xx) * c
                        for ch in 0..<c {
                            let j = Int(argmax[i + ch]), dz = j >> 2, dy = (j >> 1) & 1, dx = j & 1
                            out[((((n * s.depth + 2 * z + dz) * s.height + 2 * yy + dy) * s.width + 2 * xx + dx) * c) + ch] = g[i + ch]
                        }
                    }
                }
            }
        }
    }

    // MARK: 2× nearest upsample

    public static func upsample(_ x: Tensor, into y: Tensor) {
        let s = x.shape, o = y.shape, c = s.channels
        precondition(o == s.doubled)
        let (src, dst) = (UnsafePointer(x.data), y.data)
        Parallel.forEachChunk(o.batch * o.depth) { range in
            for plane in range {
                let n = plane / o.depth, z = plane % o.depth
                for yy in 0..<o.height {
                    let from = src + (((n * s.depth + z / 2) * s.height + yy / 2) * s.width) * c
                    let to = dst + (((n * o.depth + z) * o.height + yy) * o.width) * c
                    for xx in 0..<o.width { (to + xx * c).update(from: from + (xx / 2) * c, count: c) }
                }
            }
        }
    }

    /// y = [upsample(x), b] along channels: the same values as ``upsample(_:into:)`` then
    /// ``concatenate(_:_:into:)``, without the upsampled map of its own (inference).
    public static func upsampleConcatenate(_ x: Tensor, _ b: Tensor, into y: Tensor) {
        let s = x.shape, o = b.shape, ca = s.channels, cb = o.channels, c = ca + cb
        precondition(o.with(channels: ca) == s.doubled && y.shape == o.with(channels: c))
        let (src, other, dst) = (UnsafePointer(x.data), UnsafePointer(b.data), y.data)
        Parallel.forEachChunk(o.batch * o.depth) { range in
            for plane in range {
                let n = plane / o.depth, z = plane % o.depth
                for yy in 0..<o.height {
                    let from = src + (((n * s.depth + z / 2) * s.height + yy / 2) * s.width) * ca
                    let row = ((n * o.depth + z) * o.height + yy) * o.width
                    for xx in 0..<o.width {
                        (dst + (row + xx) * c).update(from: from + (xx / 2) * ca, count: ca)
                        (dst + (row + xx) * c + ca).update(from: other + (row + xx) * cb, count: cb)
                    }
                }
            }
        }
    }

    /// dx = sum of dy over each 2×2×2 block.
    public static func upsampleBackward(gradient dy: Tensor, into dx: Tensor) {
        let s = dx.shape, o = dy.shape, c = s.channels
        let (g, out) = (UnsafePointer(dy.data), dx.data)
        Parallel.forEachChunk(s.batch * s.depth) { range in
            for plane in range {
                let n = plane / s.depth, z = plane % s.depth
                for yy in 0..<s.height {
                    for xx in 0..<s.width {
                        let to = out + (((n * s.depth + z) * s.height + yy) * s.width + xx) * c
                        to.update(repeating: 0, count: c)
                        for j in 0..<8 {
                            let from = g + ((((n * o.depth + 2 * z + (j >> 2)) * o.height + 2 * yy + ((j >> 1) & 1)) * o.width + 2 * xx + (j & 1)) * c)
                            for ch in 0..<c { to[ch] += from[ch] }
                        }
                    }
                }
            }
        }
    }

    // MARK: Channel concatenation

    /// y = [a, b] along channels.
    public static func concatenate(_ a: Tensor, _ b: Tensor, into y: Tensor) {
        let (ca, cb) = (a.shape.channels, b.shape.channels)
        precondition(y.shape == a.shape.with(channels: ca + cb) && b.shape == a.shape.with(channels: cb))
        let (pa, pb, py) = (UnsafePointer(a.data), UnsafePointer(b.data), y.data)
        Parallel.forEachChunk(a.shape.voxels, minimumChunk: 1024) { range in
            for v in range {
                (py + v * (ca + cb)).update(from: pa + v * ca, count: ca)
                (py + v * (ca + cb) + ca).update(from: pb + v * cb, count: cb)
            }
        }
    }

    /// Splits dy into the gradients of the two parts (`db` may be nil when not needed).
    public static func concatenateBackward(gradient dy: Tensor, into da: Tensor, _ db: Tensor?) {
        let ca = da.shape.channels, c = dy.shape.channels, cb = c - ca
        let (g, pa, pb) = (UnsafePointer(dy.data), da.data, db?.data)
        Parallel.forEachChunk(da.shape.voxels, minimumChunk: 1024) { range in
            for v in range {
                (pa + v * ca).update(from: g + v * c, count: ca)
                if let pb { (pb + v * cb).update(from: g + v * c + ca, count: cb) }
            }
        }
    }

    // MARK: Dropout (always on: Monte-Carlo at inference too)

    /// y = x · keep / (1 − rate), keep drawn per element from `stream` (so the backward pass
    /// recomputes the same pattern instead of storing it).
    public static func dropout(_ x: Tensor, into y: Tensor, rate: Float, stream: RandomStream) {
        applyDropout(UnsafePointer(x.data), y.data, count: x.count, rate: rate, stream: stream)
    }

    /// dx = dy · the same factors as the forward pass.
    public static func dropoutBackward(gradient dy: Tensor, into dx: Tensor, rate: Float, stream: RandomStream) {
        applyDropout(UnsafePointer(dy.data), dx.data, count: dy.count, rate: rate, stream: stream)
    }

    private static func applyDropout(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, rate: Float, stream: RandomStream) {
        guard rate > 0 else { y.update(from: x, count: count); return }
        let scale = 1 / (1 - rate)
        // Element i is dropped when its 16-bit draw u·65536 (lane i mod 4 of word i/4, as in
        // RandomStream.forEachUniform16) is below rate·65536.
        let threshold = UInt64((rate * 65_536).rounded(.up)), key = stream.key
        @inline(__always) func word(_ i: Int) -> UInt64 { RandomStream.mix(key &+ UInt64(i &>> 2) &* 0x9E37_79B9_7F4A_7C15) }
        @inline(__always) func keep(_ w: UInt64, _ lane: Int) -> Bool { (w &>> UInt64(16 &* lane)) & 0xFFFF >= threshold }
        Parallel.forEachChunk(count, minimumChunk: grain) { r in
            var i = r.lowerBound
            // Up to a multiple of 4, then whole words (four elements each, no inner branches), then the rest.
            while i < r.upperBound && i & 3 != 0 {
                y[i] = keep(word(i), i & 3) ? x[i] * scale : 0
                i &+= 1
            }
            // AVX-512 where the CPU has it (the same draws, 32 elements per step).
            let vectorized = (r.upperBound &- i) & ~31
            if vectorized > 0, sf_dropout_avx512(x + i, y + i, Int64(i), Int64(vectorized), key, UInt32(threshold), scale) != 0 {
                i &+= vectorized
            }
            while i &+ 4 <= r.upperBound {
                let w = word(i)
                y[i] = keep(w, 0) ? x[i] * scale : 0
                y[i &+ 1] = keep(w, 1) ? x[i &+ 1] * scale : 0
                y[i &+ 2] = keep(w, 2) ? x[i &+ 2] * scale : 0
                y[i &+ 3] = keep(w, 3) ? x[i &+ 3] * scale : 0
                i &+= 4
            }
            while i < r.upperBound {
                y[i] = keep(word(i), i & 3) ? x[i] * scale : 0
                i &+= 1
            }
        }
    }

    // MARK: Masked MSE

    /// Σ (out − target)² · (1 − mask) / max(1, Σ (1 − mask)) over the batch, and its gradient
    /// with respect to `out` written into `gradient` (the loss of Self2Self: dropped voxels only).
    public static func maskedMSE(output: Tensor, target: Tensor, mask: Tensor, gradient: Tensor) -> Float {
        weightedMSE(output: output, target: target, weight: mask, inverted: true, gradient: gradient)
    }

    /// Σ (out − target)² · w / max(1, Σ w) over the batch with w = `weight` (or 1 − `weight` when
    /// `inverted`), and its gradient with respect to `out` in `gradient`.
    public static func weightedMSE(output: Tensor, target: Tensor, weight: Tensor, inverted: Bool = false, gradient: Tensor) -> Float {
        let n = output.count
        let (o, t, m, g) = (UnsafePointer(output.data), UnsafePointer(target.data), UnsafePointer(weight.data), gradient.data)
        let (a, b): (Float, Float) = inverted ? (1, -1) : (0, 1)  // w = a + b·weight
        var total = 0.0, sum = 0.0
        for i in 0..<n {
            let w = Double(a + b * m[i])
            total += w
            let d = Double(o[i] - t[i])
            sum += d * d * w
        }
        let count = max(1, total)
        let scale = Float(2 / count)
        for i in 0..<n { g[i] = (o[i] - t[i]) * (a + b * m[i]) * scale }
        return Float(sum / count)
    }
}
