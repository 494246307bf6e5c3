using System.Text.Json;
using CdsRisk.Core.Imaging;
using CdsRisk.Dicom;

namespace CdsRisk.UnitTests.Imaging;

/// <summary>
/// The tensor equals an independent numpy implementation of docs/contracts.md §2 (Imaging/make_tensor_reference.py) on a study
/// written by pydicom: oblique orientation, shuffled file order, signed pixels, per-slice rescale.
/// </summary>
public sealed class TensorReferenceTests
{
    [Fact]
    public void Tensor_MatchesTheNumpyReference()
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "TestData", "imaging-reference");
        var slices = Directory.EnumerateFiles(directory, "*.dcm").Order()
            .Select(f => ImagingSlice.FromDataset(DicomReader.Read(File.ReadAllBytes(f)).Dataset, ImageInputSpec.Default)).ToList();
        var result = StudyAssembler.Assemble(slices, PhaseRules.Default with { MinCoverageMm = 50 }, ImageInputSpec.Default, null);
        Assert.True(result.IsAccepted, string.Join("; ", result.Refusals.Concat(result.SkippedVolumes).Select(r => r.Detail)));
        Assert.All(result.Phases, p => Assert.Equal(3.0, p.Geometry.SliceSpacingMm, 3));

        using var expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory, "expected.json")));
        var root = expected.RootElement;
        var stride = root.GetProperty("sampleStride").GetInt32();
        var samples = root.GetProperty("samples").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var tensor = result.Tensor!;
        Assert.Equal(samples.Length, (tensor.Length + stride - 1) / stride);
        var worst = 0.0;
        for (var i = 0; i < samples.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(samples[i] - tensor[i * stride]));
        }

        Assert.True(worst < 1e-4, $"largest difference from the reference {worst}");
        var voxels = ImageInputSpec.Default.VoxelsPerPhase;
        var absSums = root.GetProperty("phaseAbsSums").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (var p = 0; p < 4; p++)
        {
            var absSum = tensor.AsSpan(p * voxels, voxels).ToArray().Sum(v => Math.Abs((double)v));
            Assert.Equal(absSums[p], absSum, absSums[p] * 1e-5);
        }
    }
}
