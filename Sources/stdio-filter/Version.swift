import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import CFFTW
import CTIFF
import S2SFilter

/// `stdio-filter version`: this build and the numeric libraries it runs on.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the version and the libraries linked (OpenBLAS, FFTW, libtiff) for bug reports.",
        discussion: """
            Example: stdio-filter version   (paste its output into a bug report)
            """)

    func run() throws {
        print("stdio-filter \(StdioFilterVersion.string)")
        print("OpenBLAS: \(BLASBackend.configuration) (kernel \(BLASBackend.coreName); called single-threaded from the network's own threads)")
        print("FFTW: \(fftwVersion)")
        print("libtiff: \(String(cString: TIFFGetVersion()).split(separator: "\n").first.map(String.init) ?? "unknown")")
    }

    /// FFTW's version string (a C array, so looked up by name) and a 16-point r2c self-check.
    private var fftwVersion: String {
        var name = "unknown"
        if let symbol = dlsym(nil, "fftwf_version") {
            name = String(cString: symbol.assumingMemoryBound(to: CChar.self))
        }
        var input = [Float](repeating: 1, count: 16)
        var output = [fftwf_complex](repeating: (0, 0), count: 9)
        let plan = fftwf_plan_dft_r2c_1d(16, &input, &output, UInt32(FFTW_ESTIMATE))
        input = [Float](repeating: 1, count: 16)
        fftwf_execute_dft_r2c(plan, &input, &output)
        fftwf_destroy_plan(plan)
        return name + (output[0].0 == 16 ? " (r2c self-check ok)" : " (r2c self-check FAILED)")
    }
}
