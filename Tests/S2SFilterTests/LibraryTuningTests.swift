import Testing
@testable import S2SFilter

@Suite("library tuning: the settings a network run restarts with, and OpenBLAS's stopped pool")
struct LibraryTuningTests {
    static func names(_ settings: [(name: String, value: String)]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: settings.map { ($0.name, $0.value) })
    }

    @Test("an empty environment gets the spin count and one OpenBLAS thread; a better core type when there is one")
    func defaults() {
        #expect(Self.names(LibraryTuning.settings(environment: [:], betterCoreType: nil))
            == ["GOMP_SPINCOUNT": "10000", "OPENBLAS_NUM_THREADS": "1"])
        #expect(Self.names(LibraryTuning.settings(environment: [:], betterCoreType: "Haswell"))
            == ["GOMP_SPINCOUNT": "10000", "OPENBLAS_NUM_THREADS": "1", "OPENBLAS_CORETYPE": "Haswell"])
    }

    @Test("settings the user gave are kept; OMP_WAIT_POLICY leaves the spin count alone; all given: no restart")
    func userSettingsKept() {
        #expect(Self.names(LibraryTuning.settings(environment: ["OPENBLAS_NUM_THREADS": "4"], betterCoreType: nil))
            == ["GOMP_SPINCOUNT": "10000"])
        #expect(Self.names(LibraryTuning.settings(environment: ["OMP_WAIT_POLICY": "passive"], betterCoreType: nil))
            == ["OPENBLAS_NUM_THREADS": "1"])
        let given = ["GOMP_SPINCOUNT": "0", "OPENBLAS_NUM_THREADS": "2", "OPENBLAS_CORETYPE": "SkylakeX"]
        #expect(LibraryTuning.settings(environment: given, betterCoreType: "Haswell").isEmpty)
    }

    @Test("after OpenBLAS's pool is stopped, products are still exact")
    func productAfterStop() {
        BLASBackend.stopThreadPool()
        let (m, n, k) = (37, 29, 41)
        let a = (0..<(m * k)).map { Float(($0 * 7) % 13) - 6 }
        let b = (0..<(k * n)).map { Float(($0 * 5) % 11) - 5 }
        var c = [Float](repeating: .nan, count: m * n)
        BLASBackend.multiply(a, b, into: &c, m: m, n: n, k: k)
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k { sum += a[i * k + p] * b[p * n + j] }
                #expect(c[i * n + j] == sum, "c[\(i), \(j)]")  // small integers: exact in Float
            }
        }
    }
}
