using CdsRisk.Core.Imaging;
using CdsRisk.Dicom;
using CdsRisk.Dicom.Synthetic;

namespace CdsRisk.UnitTests.Imaging;

public sealed class StudyAssemblerTests
{
    private static readonly DateOnly Reference = new(2026, 11, 27);

    private static List<ImagingSlice> Slices(SyntheticMrStudy study) =>
        study.Instances().Select(b => ImagingSlice.FromDataset(DicomReader.Read(b).Dataset, ImageInputSpec.Default)).ToList();

    private static StudyImagingResult Assemble(IReadOnlyList<ImagingSlice> slices, PhaseRules? rules = null) =>
        StudyAssembler.Assemble(slices, rules ?? PhaseRules.Default, ImageInputSpec.Default, Reference);

    [Fact]
    public void SeparateSeries_AreIdentifiedByDescriptionKeywords_AndGiveANormalisedTensor()
    {
        var study = new SyntheticMrStudy();
        var result = Assemble(Slices(study));

        Assert.True(result.IsAccepted, string.Join("; ", result.Refusals.Select(r => r.Detail)));
        Assert.Equal([Phase.NonContrast, Phase.Arterial, Phase.PortalVenous, Phase.Delayed], result.Phases.Select(p => p.Phase));
        Assert.All(result.Phases, p => Assert.Equal(PhaseIdentification.DescriptionKeyword, p.IdentifiedBy));
        Assert.Equal(study.SeriesUid(1), result.Phases[1].SeriesInstanceUid);
        Assert.All(result.Phases, p => Assert.Equal(24, p.SliceCount));
        Assert.Equal(5.0, result.Phases[0].Geometry.SliceSpacingMm, 6);
        Assert.Equal(115.0, result.Phases[0].Geometry.CoverageMm, 6);
        Assert.Equal(4 * 32 * 64 * 64, result.Tensor!.Length);
        for (var phase = 0; phase < 4; phase++)
        {
            var channel = result.Tensor.AsSpan(phase * 32 * 64 * 64, 32 * 64 * 64).ToArray();
            Assert.Equal(0, channel.Average(), 3);
            Assert.InRange(channel.Max(), 1, 5);
            Assert.InRange(channel.Min(), -5, -0.5);
        }
    }

    [Fact]
    public void DynamicSeries_IsSplitByTemporalPosition_AndIdentifiedByTimingAndOrder()
    {
        var study = new SyntheticMrStudy { Layout = SyntheticLayout.DynamicSeries };
        var result = Assemble(Slices(study));

        Assert.True(result.IsAccepted, string.Join("; ", result.Refusals.Select(r => r.Detail)));
        Assert.All(result.Phases, p => Assert.Equal(study.SeriesUid(0), p.SeriesInstanceUid));
        Assert.Equal(["TemporalPositionIdentifier=1", "TemporalPositionIdentifier=2", "TemporalPositionIdentifier=3", "TemporalPositionIdentifier=4"],
            result.Phases.Select(p => p.TimePoint));
        Assert.Equal(PhaseIdentification.TimeOrder, result.Phases[0].IdentifiedBy);
        Assert.Equal(PhaseIdentification.ContrastTiming, result.Phases[1].IdentifiedBy);
        Assert.Contains("30 s", result.Phases[1].IdentificationDetail);
    }

    [Theory]
    [InlineData("LATE ARTERIAL", Phase.Arterial)]
    [InlineData("ax t1 lava HAP", Phase.Arterial)]
    [InlineData("PVP 70s", Phase.PortalVenous)]
    [InlineData("equilibrium 3 min", Phase.Delayed)]
    [InlineData("T1 native", Phase.NonContrast)]
    public void SiteKeywords_MatchWordsInTheDescription(string description, Phase expected)
    {
        var study = new SyntheticMrStudy();
        var renamed = Slices(study).Select(s => s.SeriesInstanceUid == study.SeriesUid((int)expected) ? s with { SeriesDescription = description } : s).ToList();
        var result = Assemble(renamed);
        var phase = Assert.Single(result.Phases, p => p.SeriesInstanceUid == study.SeriesUid((int)expected));
        Assert.Equal(expected, phase.Phase);
        Assert.Equal(PhaseIdentification.DescriptionKeyword, phase.IdentifiedBy);
    }

    [Fact]
    public void WithoutDescriptions_PhasesComeFromContrastTagsAndTiming()
    {
        var study = new SyntheticMrStudy();
        var result = Assemble(Slices(study).Select(s => s with { SeriesDescription = "T1 VIBE" }).ToList());
        Assert.True(result.IsAccepted);
        Assert.Equal([PhaseIdentification.TimeOrder, PhaseIdentification.ContrastTiming, PhaseIdentification.ContrastTiming, PhaseIdentification.ContrastTiming],
            result.Phases.Select(p => p.IdentifiedBy));
        Assert.Equal([study.SeriesUid(0), study.SeriesUid(1), study.SeriesUid(2), study.SeriesUid(3)], result.Phases.Select(p => p.SeriesInstanceUid));
    }

    [Fact]
    public void MissingPhase_IsRefusedNamingThePhase()
    {
        var result = Assemble(Slices(new SyntheticMrStudy { Phases = [0, 1, 3] }));
        Assert.False(result.IsAccepted);
        Assert.Null(result.Tensor);
        var refusal = Assert.Single(result.Refusals);
        Assert.Equal(ImagingRefusalReason.PhaseMissing, refusal.Reason);
        Assert.Contains("PortalVenous", refusal.Detail);
    }

    [Fact]
    public void DynamicSeriesWithoutTimeTags_IsRefusedForRepeatedPositions()
    {
        var slices = Slices(new SyntheticMrStudy { Layout = SyntheticLayout.DynamicSeries })
            .Select(s => s with { TemporalPositionIdentifier = null }).ToList();
        var result = Assemble(slices);
        Assert.Contains(result.SkippedVolumes, r => r.Reason == ImagingRefusalReason.RepeatedPositions);
        Assert.Contains(result.Refusals, r => r.Reason == ImagingRefusalReason.PhaseMissing);
    }

    [Fact]
    public void GeometryProblems_AreRefusedWithReasons()
    {
        var slices = Slices(new SyntheticMrStudy());
        var arterial = new SyntheticMrStudy().SeriesUid(1);

        var tilted = slices.Select((s, i) => s.SeriesInstanceUid == arterial && i % 24 == 3 ? s with { Orientation = [1, 0, 0, 0, 0.9, 0.1] } : s).ToList();
        Assert.Contains(Assemble(tilted).SkippedVolumes, r => r.Reason == ImagingRefusalReason.MixedOrientations && r.SeriesInstanceUid == arterial);

        var gap = slices.Where((s, i) => !(s.SeriesInstanceUid == arterial && i % 24 == 10)).ToList();
        Assert.Contains(Assemble(gap).SkippedVolumes, r => r.Reason == ImagingRefusalReason.UnevenSpacing && r.SeriesInstanceUid == arterial);

        var few = slices.Where((s, i) => !(s.SeriesInstanceUid == arterial && i % 24 >= 10)).ToList();
        Assert.Contains(Assemble(few).SkippedVolumes, r => r.Reason == ImagingRefusalReason.TooFewSlices);

        var ct = slices.Select(s => s.SeriesInstanceUid == arterial ? s with { Modality = "CT" } : s).ToList();
        var ctResult = Assemble(ct);
        Assert.Contains(ctResult.SkippedVolumes, r => r.Reason == ImagingRefusalReason.NotMR);
        Assert.False(ctResult.IsAccepted);

        var thin = Assemble(slices, PhaseRules.Default with { MinCoverageMm = 200 });
        Assert.Contains(thin.SkippedVolumes, r => r.Reason == ImagingRefusalReason.TruncatedCoverage);
    }

    [Fact]
    public void UnreadablePixels_AndOldStudies_AreRefused()
    {
        var slices = Slices(new SyntheticMrStudy());
        var broken = slices.Select((s, i) => i == 30 ? s with { Plane = null, PixelProblem = "EncapsulatedPixelData" } : s).ToList();
        Assert.Contains(Assemble(broken).SkippedVolumes, r => r.Reason == ImagingRefusalReason.UnreadablePixels);

        var old = StudyAssembler.Assemble(slices, PhaseRules.Default, ImageInputSpec.Default, new DateOnly(2027, 6, 1));
        Assert.Contains(old.Refusals, r => r.Reason == ImagingRefusalReason.OutsideWindow);
    }

    [Fact]
    public void ConstantAndNoiseVolumes_FailQualityChecks()
    {
        var slices = Slices(new SyntheticMrStudy());
        var delayed = new SyntheticMrStudy().SeriesUid(3);
        var constant = slices.Select(s => s.SeriesInstanceUid == delayed ? s with { Plane = Enumerable.Repeat(100f, 64 * 64).ToArray() } : s).ToList();
        Assert.Contains(Assemble(constant).Refusals, r => r.Reason == ImagingRefusalReason.EmptyOrConstantVolume);

        var random = new Random(7);
        var noise = slices.Select(s => s.SeriesInstanceUid == delayed
            ? s with { Plane = Enumerable.Range(0, 64 * 64).Select(_ => (float)random.NextDouble() * 1000).ToArray() } : s).ToList();
        Assert.Contains(Assemble(noise).Refusals, r => r.Reason == ImagingRefusalReason.ExcessiveNoise);
    }

    [Fact]
    public void InstanceWithUnreadablePixels_BecomesASliceWithAPixelProblem_NotAnException()
    {
        var ds = CdsRisk.Dicom.DicomReader.Read(new SyntheticMrStudy().Instance(0, 0)).Dataset;
        var withoutPixels = new DicomWriter().Add(DicomTags.SeriesInstanceUid, DicomVR.UI, "1.2.3").Add(DicomTags.Modality, DicomVR.CS, "MR")
            .Add(DicomTags.Rows, DicomVR.US, 4).ToPart10(SyntheticMrStudy.MrImageStorage, "1.2.3.4");
        var slice = ImagingSlice.FromDataset(DicomReader.Read(withoutPixels).Dataset, ImageInputSpec.Default);
        Assert.Null(slice.Plane);
        Assert.Contains("(7FE0,0010)", slice.PixelProblem);
        Assert.NotNull(ImagingSlice.FromDataset(ds, ImageInputSpec.Default).Plane);
    }
}
