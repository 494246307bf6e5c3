using CdsRisk.IntegrationTests.TestServers;
using CdsRisk.Api.DicomWeb;
using CdsRisk.Core.Imaging;
using CdsRisk.Dicom.Synthetic;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CdsRisk.IntegrationTests.DicomWeb;

[Collection("servers")]
public sealed class DicomWebOrthancTests(TestEnvironment orthanc)
{
    private static readonly DateOnly Reference = new(2026, 11, 27);

    private DicomWebClient Client(string? allowed = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DicomWeb:AllowedServers:0"] = allowed ?? orthanc.DicomWebBaseUrl.AbsoluteUri,
            ["DicomWeb:MaxRetries"] = "1",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddDicomWeb(configuration).BuildServiceProvider();
        return services.GetRequiredService<DicomWebClient>();
    }

    private static string NewStudyUid() => $"1.2.826.0.1.3680043.10.1437.{DateTime.UtcNow.Ticks % 1_000_000_000}.{Random.Shared.Next(1, 1_000_000)}";

    private async Task<SyntheticMrStudy> UploadAsync(SyntheticMrStudy study)
    {
        foreach (var instance in study.Instances())
        {
            await orthanc.UploadDicomAsync(instance);
        }

        return study;
    }

    [Fact]
    public async Task SeparateSeriesStudy_FoundByQido_IsAcceptedWithFourKeywordPhases()
    {
        var study = await UploadAsync(new SyntheticMrStudy { StudyInstanceUid = NewStudyUid() });
        var result = await Client().LoadStudyAsync(new ImagingStudyReference(orthanc.DicomWebBaseUrl, study.StudyInstanceUid, []),
            PhaseRules.Default, ImageInputSpec.Default, Reference, CancellationToken.None);

        Assert.True(result.IsAccepted, string.Join("; ", result.Refusals.Select(r => r.Detail)));
        Assert.Equal([study.SeriesUid(0), study.SeriesUid(1), study.SeriesUid(2), study.SeriesUid(3)], result.Phases.Select(p => p.SeriesInstanceUid));
        Assert.All(result.Phases, p => Assert.Equal(PhaseIdentification.DescriptionKeyword, p.IdentifiedBy));
        Assert.Equal(ImageInputSpec.Default.TensorLength, result.Tensor!.Length);
    }

    [Fact]
    public async Task DynamicSeriesStudy_FromImagingStudySeriesList_IsSplitIntoFourTimePoints()
    {
        var study = await UploadAsync(new SyntheticMrStudy { StudyInstanceUid = NewStudyUid(), Layout = SyntheticLayout.DynamicSeries });
        var result = await Client().LoadStudyAsync(new ImagingStudyReference(orthanc.DicomWebBaseUrl, study.StudyInstanceUid, [study.SeriesUid(0)]),
            PhaseRules.Default, ImageInputSpec.Default, Reference, CancellationToken.None);

        Assert.True(result.IsAccepted, string.Join("; ", result.Refusals.Select(r => r.Detail)));
        Assert.Equal(4, result.Phases.Select(p => p.TimePoint).Distinct().Count());
        Assert.All(result.Phases, p => Assert.Equal(24, p.SliceCount));
    }

    [Fact]
    public async Task StudyMissingAPhase_IsRefusedNamingIt()
    {
        var study = await UploadAsync(new SyntheticMrStudy { StudyInstanceUid = NewStudyUid(), Phases = [0, 1, 2] });
        var result = await Client().LoadStudyAsync(new ImagingStudyReference(orthanc.DicomWebBaseUrl, study.StudyInstanceUid, []),
            PhaseRules.Default, ImageInputSpec.Default, Reference, CancellationToken.None);

        Assert.False(result.IsAccepted);
        var refusal = Assert.Single(result.Refusals);
        Assert.Equal(ImagingRefusalReason.PhaseMissing, refusal.Reason);
        Assert.Contains("Delayed", refusal.Detail);
    }

    [Fact]
    public async Task Jpeg2000Series_OrthancCannotTranscode_IsAClearRefusalNamingTheSeries()
    {
        var j2k = await File.ReadAllBytesAsync(Path.Combine(RepositoryRoot(), "tests", "CdsRisk.UnitTests", "TestData", "pydicom", "MR_small_jp2klossless.dcm"));
        await orthanc.UploadDicomAsync(j2k);
        const string studyUid = "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457";
        const string seriesUid = "1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457";
        var result = await Client().LoadStudyAsync(new ImagingStudyReference(orthanc.DicomWebBaseUrl, studyUid, []),
            PhaseRules.Default, ImageInputSpec.Default, null, CancellationToken.None);

        Assert.False(result.IsAccepted);
        var refusal = Assert.Single(result.Refusals, r => r.Reason == ImagingRefusalReason.ServerError);
        Assert.Equal(seriesUid, refusal.SeriesInstanceUid);
        Assert.Contains("HTTP 500", refusal.Detail);
        Assert.Contains("JPEG 2000", refusal.Detail);
    }

    [Fact]
    public async Task UnknownStudy_IsRefusedAsHavingNoMrSeries()
    {
        var result = await Client().LoadStudyAsync(new ImagingStudyReference(orthanc.DicomWebBaseUrl, NewStudyUid(), []),
            PhaseRules.Default, ImageInputSpec.Default, null, CancellationToken.None);
        Assert.Equal(ImagingRefusalReason.NoMrSeries, Assert.Single(result.Refusals).Reason);
    }

    [Fact]
    public async Task ServerNotOnAllowList_IsRefusedBeforeAnyRequest()
    {
        var client = Client(allowed: "http://127.0.0.1:1/dicom-web");
        var ex = await Assert.ThrowsAsync<DicomWebException>(() => client.LoadStudyAsync(
            new ImagingStudyReference(orthanc.DicomWebBaseUrl, "1.2.3", []), PhaseRules.Default, ImageInputSpec.Default, null, CancellationToken.None));
        Assert.Equal(DicomWebError.ServerNotAllowed, ex.Error);
    }

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "CdsRisk.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("CdsRisk.sln not found above the test binaries");
    }
}
