import Foundation
import Testing

/// Runtime plugins (issue 20): the C examples built with the system compiler and loaded by the
/// built binary, against references computed here (numpy/scipy), and every bad plugin refused
/// with one line.
@Suite("runtime plugins (built binary)")
struct PluginEndToEndTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let header = repository.appendingPathComponent("Sources/CStdioFilterPlugin/include").path
    /// `$CC`, else the system's `cc`, else the Swift toolchain's clang.
    static let compiler: String = ProcessInfo.processInfo.environment["CC"]
        ?? ((try? shell("command -v cc").status) == 0 ? "cc" : "clang")

    /// Compiles C `source` (or the example file `example`) into `name`.so in `dir`.
    static func build(_ name: String, source: String? = nil, example: String? = nil, in dir: URL) throws {
        let file: String
        if let source {
            file = dir.appendingPathComponent("\(name).c").path
            try source.write(toFile: file, atomically: true, encoding: .utf8)
        } else {
            file = repository.appendingPathComponent("examples/plugins/\(example!).c").path
        }
        let run = try shell("\(compiler) -std=c99 -Wall -shared -fPIC -O2 -I \(q(header)) -o \(q(name)).so \(q(file))", in: dir)
        try #require(run.status == 0, "compiling \(name): \(run.stderr)")
    }

    @Test("the C examples give the reference's voxels alone, in a chain, through a pipe and in a split run; list shows them")
    func examples() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.build("unsharp", example: "unsharp", in: dir)
        try Self.build("threshold", example: "threshold", in: dir)
        let u = "--plugin ./unsharp.so", t = "--plugin ./threshold.so"
        let steps = [
            "$B synth --quiet --size 40x36x20 a.mrc",
            "$B \(u) stage unsharp --radius 2 --amount 1.5 a.mrc alone.mrc",
            "$B \(u) \(t) run --chain unsharp:radius=2:amount=1.5,threshold:level=0.3:above=5 a.mrc chain.mrc",
            "cat a.mrc | $B --plugin=./unsharp.so stage unsharp --radius 2 --amount 1.5 --slab 3 --threads 2 | cat > piped.mrc",
            "$B \(u) stage unsharp --radius 2 --amount 1.5 --zrange 0:7 a.mrc part0.mrc",
            "$B \(u) stage unsharp --radius 2 --amount 1.5 --zrange 7:20 a.mrc part1.mrc",
            "$B concat part0.mrc part1.mrc parts.mrc",
        ]
        for step in steps {
            let run = try shell(step, in: dir)
            try #require(run.status == 0, "\(step): \(run.stderr)")
        }
        let check = """
            import mrcfile, numpy as np
            from scipy.ndimage import uniform_filter
            a = mrcfile.read('a.mrc').astype(np.float64)
            ref = a + 1.5 * (a - uniform_filter(a, size=5, mode='nearest'))
            alone = mrcfile.read('alone.mrc')
            err = np.abs(alone - ref).max() / ref.std()
            assert err < 1e-5, ('unsharp vs reference', err)
            for name in ['piped.mrc', 'parts.mrc']:
                assert (mrcfile.read(name) == alone).all(), name
            chain = mrcfile.read('chain.mrc')
            assert (chain == np.where(alone >= 0.3, 5.0, 0.0)).all(), 'threshold of the unsharp output'
            assert 0 < (chain == 5).mean() < 1
            print('ok', err)
            """
        let verdict = try shell("python3 -c \(q(check))", in: dir)
        #expect(verdict.status == 0, "\(verdict.stderr)")
        // list shows plugin stages with their parameters and origin, from the search path too.
        let list = try shell("mkdir plugins && cp unsharp.so threshold.so plugins/ && STDIO_FILTER_PLUGIN_PATH=$PWD/plugins $B list", in: dir)
        let text = String(decoding: list.stdout, as: UTF8.self)
        #expect(list.status == 0 && text.contains("unsharp: unsharp mask") && text.contains("from \(dir.path)/plugins/unsharp.so"), "\(text)")
        #expect(text.contains("level  (required)"), "\(text)")
        // Values the plugin's validate() refuses: a usage error before anything is read.
        let refused = try shell("$B \(u) stage unsharp --radius 0 --amount 1 a.mrc never.mrc", in: dir)
        #expect(refused.status == 64 && refused.stderr.contains("it says: radius 0 has no neighbourhood"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("never.mrc").path))
    }

    /// A plugin whose stage `name` has the given parameter table and process body.
    static func plugin(stage name: String = "probe", abi: String = "SF_PLUGIN_ABI_VERSION", kind: String = "SF_PARAMETER_NUMBER",
                       defaultValue: String = "\"1\"", process: String = "return 0;", entry: String = "stdio_filter_plugin") -> String {
        """
        #include <stdio.h>
        #include "stdio_filter_plugin.h"
        static int create(const char *const *v, const sf_geometry *in, sf_geometry *out, int32_t halo[3], void **state, char *e, size_t n) {
            (void)v; (void)e; (void)n; *out = *in; halo[0] = halo[1] = halo[2] = 1; *state = NULL; return 0; }
        static int process(void *s, const float *in, const sf_box *ib, float *out, const sf_box *ob, char *e, size_t n) {
            (void)s; (void)in; (void)ib; (void)out; (void)ob; (void)e; (void)n;
            int64_t count = ob->size[0] * ob->size[1] * ob->size[2];
            for (int64_t i = 0; i < count; i++) out[i] = 0;
            \(process) }
        static void destroy(void *s) { (void)s; }
        static const sf_parameter parameters[] = {{"gain", \(kind), \(defaultValue), "", 0, 10, NULL, "a gain"}};
        static const sf_stage stages[] = {{"\(name)", "a test stage", parameters, 1, 0, 0, NULL, create, process, destroy}};
        static const sf_plugin plugin = {\(abi), 1, stages};
        const sf_plugin *\(entry)(void) { return &plugin; }
        """
    }

    @Test("bad plugins: one line naming the plugin, exit 1 (64 for usage), no output left")
    func refusals() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try #require(try shell("$B synth --quiet --size 24x20x16 a.mrc && echo 'not a library' > text.so", in: dir).status == 0)
        try Self.build("noentry", source: Self.plugin(entry: "something_else"), in: dir)
        try Self.build("abi", source: Self.plugin(abi: "99"), in: dir)
        try Self.build("clash", source: Self.plugin(stage: "gaussian"), in: dir)
        try Self.build("schema", source: Self.plugin(kind: "9"), in: dir)
        try Self.build("baddefault", source: Self.plugin(defaultValue: "\"20\""), in: dir)
        try Self.build("failing", source: Self.plugin(process: "if (ob->origin[2] + ob->size[2] > 8) { snprintf(e, n, \"no luck at z %d\", (int)ob->origin[2]); return 3; } return 0;"), in: dir)
        try Self.build("good", source: Self.plugin(), in: dir)
        let cases: [(String, Int32, String)] = [
            ("$B --plugin missing.so list", 1, "plugin missing.so: cannot open: No such file or directory"),
            ("$B --plugin text.so list", 1, "plugin text.so: not a loadable shared library"),
            ("$B --plugin ./noentry.so list", 1, "plugin ./noentry.so: no entry point stdio_filter_plugin()"),
            ("$B --plugin ./abi.so list", 1, "plugin ./abi.so: built for plugin ABI version 99, this stdio-filter loads version 1"),
            ("$B --plugin ./clash.so list", 1, "plugin ./clash.so: stage gaussian: a stage of that name exists already"),
            ("$B --plugin ./good.so --plugin ./good.so list", 1, "plugin ./good.so: stage probe: a stage of that name exists already"),
            ("$B --plugin ./schema.so list", 1, "plugin ./schema.so: stage probe: parameter 'gain': unknown kind 9"),
            ("$B --plugin ./baddefault.so list", 1, "plugin ./baddefault.so: stage probe: parameter 'gain': its default '20' is not a number in 0…10"),
            ("$B --plugin", 64, "--plugin needs the path of a plugin"),
            ("$B --plugin ./good.so stage probe --gain 11 a.mrc out.mrc", 64, "invalid probe gain '11'"),
            ("$B --plugin ./good.so stage probe --speed 1 a.mrc out.mrc", 64, "invalid probe parameter 'speed'"),
            ("$B --plugin ./failing.so stage probe --slab 4 a.mrc out.mrc", 1, "plugin ./failing.so: stage probe: process (sections 8..<12 of 16): no luck at z 8"),
            ("$B --plugin ./failing.so stage probe a.mrc - > piped.mrc", 1, "no luck at z"),
        ]
        for (script, status, message) in cases {
            let run = try shell(script, in: dir)
            #expect(run.status == status, "\(script): \(run.status) \(run.stderr)")
            #expect(run.stderr.contains(message), "\(script): \(run.stderr)")
            #expect(run.errorLines.filter { $0.contains("error") }.count == 1, "\(script): \(run.stderr)")
        }
        let left = try files(in: dir).filter { !$0.hasSuffix(".so") && !$0.hasSuffix(".c") }
        #expect(left == ["a.mrc", "piped.mrc"], "only the shell's own redirection may remain: \(left)")
    }

    @Test("fuzzed parameter strings to a plugin stage never crash the host")
    func fuzzedParameters() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.build("threshold", example: "threshold", in: dir)
        try #require(try shell("$B synth --quiet --size 16x16x8 a.mrc", in: dir).status == 0)
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789.-+eE:=,xnaifINF \u{00e9}%$'\"\\")
        var words: [String] = ["", "-", "1e999", "nan", "inf", "0x10", "1,2", "a:b", "=", String(repeating: "9", count: 400)]
        for _ in 0..<40 { words.append(String((0..<Int.random(in: 1...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })) }
        for word in words {
            for script in ["$B --plugin ./threshold.so stage threshold --level \(q(word)) a.mrc out.mrc",
                           "$B --plugin ./threshold.so run --chain \(q("threshold:level=\(word)")) a.mrc out.mrc"] {
                let run = try shell(script, in: dir)
                #expect([0, 1, 64].contains(run.status), "\(script): exit \(run.status) \(run.stderr)")
                _ = try? FileManager.default.removeItem(at: dir.appendingPathComponent("out.mrc"))
            }
        }
    }
}
