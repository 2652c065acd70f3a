import FilterKit
import Deconvolution
import Intensity
import Resampling
import RuntimePlugins
import S2SFilter
import Smoothing

/// Every stage this build knows (for the tool, its tests and its fuzzers): the plugins'
/// factories, listed at compile time (FFmpeg's `allfilters.c`). A new plugin target adds its
/// `factories` here and to `stagePlugins` in Package.swift.
public let builtInStages: [any StageFactory.Type] =
    SmoothingPlugin.factories + ResamplingPlugin.factories + IntensityPlugin.factories + DeconvolutionPlugin.factories + S2SPlugin.factories

/// The built-in stages and those of the plugins loaded so far (``PluginLoader``).
public var stageRegistry: StageRegistry { StageRegistry(builtInStages, runtime: PluginLoader.stages) }
