#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FilterKit
import S2SFilter

/// `stdio-filter bench`: measurements users run to know what a job will cost on their machine.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure what denoising will cost on this machine.",
        discussion: """
            Examples:
              stdio-filter bench nn --preset lite --patch 32
              stdio-filter bench nn --preset full --patch 64 --iterations 3 --threads 2
            """,
        subcommands: [NetworkBench.self])
}

/// `stdio-filter bench nn`: the S2S network's forward pass and training step, as one JSON line.
struct NetworkBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nn",
        abstract: "Time the S2S U-Net: median forward and training-step milliseconds, as one JSON line on stdout.",
        discussion: """
            A training step is what denoising repeats thousands of times: a Bernoulli-masked input
            (batch 1 unless --batch), forward, masked MSE, backward and an Adam update. A forward pass is one
            ensemble sample of the prediction.
            Example: stdio-filter bench nn --preset lite --patch 32 --iterations 5
            """)

    @Option(help: "Network preset: lite or full.")
    var preset: String = "lite"

    @Option(help: ArgumentHelp("Cubic patch side in voxels (a multiple of 2^pools).", valueName: "n"))
    var patch: Int = 32

    @Option(help: ArgumentHelp("Patches per step (s2s trains with 2; PyTorch's reference script times 1).", valueName: "n"))
    var batch: Int = 1

    @Option(help: ArgumentHelp("Timed repetitions of each (after 2 warm-up runs).", valueName: "k"))
    var iterations: Int = 5

    @Option(help: ArgumentHelp("Threads (default: the CPUs this process may use, as taskset or SLURM set them).", valueName: "n"))
    var threads: Int?

    func validate() throws {
        guard let config = UNetConfiguration.preset(preset) else { throw ValidationError("--preset must be lite or full (got \(preset))") }
        let multiple = 1 << config.pools
        guard patch >= multiple, patch % multiple == 0, patch <= 256 else {
            throw ValidationError("--patch must be a multiple of \(multiple) between \(multiple) and 256 for the \(preset) net (got \(patch))")
        }
        guard (1...1000).contains(iterations) else { throw ValidationError("--iterations must be 1…1000 (got \(iterations))") }
        guard (1...64).contains(batch) else { throw ValidationError("--batch must be 1…64 (got \(batch))") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    func run() throws {
        if let threads { Parallel.threads = threads }
        let net = UNet(UNetConfiguration.preset(preset)!, seed: 0)
        let shape = TensorShape(batch: batch, depth: patch, height: patch, width: patch, channels: 1)
        let input = Tensor(shape), mask = Tensor(shape), gradient = Tensor(shape)
        let noise = RandomStream(seed: 1, stream: 0)
        for i in 0..<shape.count { input.data[i] = noise.normal(UInt64(i)) }
        var adam = Adam(learningRate: 1e-4)
        func time(_ body: (Int) -> Void) -> [Double] {
            (0..<(iterations + 2)).map { k in
                let start = ProgressReporter.now()
                body(k)
                return (ProgressReporter.now() - start) * 1000
            }.dropFirst(2).sorted()
        }
        let forward = time { k in
            BernoulliMask.fill(mask, dropRate: 0.3, stream: noise.child(UInt64(k)))
            _ = net.forward(input, mask: mask, stream: noise.child(UInt64(1000 + k)))
        }
        let train = time { k in
            BernoulliMask.fill(mask, dropRate: 0.3, stream: noise.child(UInt64(2000 + k)))
            net.trainStep(input, mask: mask, gradient: gradient, optimizer: &adam, stream: noise.child(UInt64(3000 + k)))
        }
        func median(_ v: [Double]) -> Double { v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2 }
        func ms(_ v: Double) -> String { String(Double(Int(v * 10)) / 10) }
        print("{\"net\": \"\(preset)\", \"patch\": \(patch), \"batch\": \(batch), \"threads\": \(Parallel.threads), \"parameters\": \(net.parameterCount), \"forward_ms\": \(ms(median(forward))), \"train_step_ms\": \(ms(median(train))), \"blas\": \"\(BLASBackend.coreName)\"}")
    }
}
