using System.Text;
using CdsRisk.Api.DicomWeb;
using CdsRisk.Api.Scoring;
using CdsRisk.Api.Storage;
using CdsRisk.Core.Imaging;
using CdsRisk.Core.Scoring;
using CdsRisk.Dicom.Synthetic;
using CdsRisk.IntegrationTests.EndToEnd;
using CdsRisk.IntegrationTests.Hooks;
using CdsRisk.IntegrationTests.TestServers;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CdsRisk.IntegrationTests.DicomWeb;

/// <summary>
/// Issue 13 items 4, 5 and 9 against the real Orthanc and loopback servers that misbehave: one failing server trips only its
/// own breaker; a redirect is never followed; a server that drips its answer cannot hold a scoring slot past the job's deadline.
/// </summary>
[Collection("servers")]
public sealed class DicomWebHardeningTests(TestEnvironment env)
{
    private static readonly DateOnly Reference = new(2026, 11, 27);

    private static ServiceProvider Services(params string[] allowed)
    {
        var settings = new Dictionary<string, string?> { ["DicomWeb:MaxRetries"] = "0" };
        for (var i = 0; i < allowed.Length; i++)
        {
            settings[$"DicomWeb:AllowedServers:{i}"] = allowed[i];
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddDicomWeb(configuration).BuildServiceProvider();
    }

    private static string NewStudyUid() => $"1.2.826.0.1.3680043.10.1437.{DateTime.UtcNow.Ticks % 1_000_000_000}.{Random.Shared.Next(1, 1_000_000)}";

    private async Task<SyntheticMrStudy> UploadStudyAsync()
    {
        var study = new SyntheticMrStudy { StudyInstanceUid = NewStudyUid() };
        foreach (var instance in study.Instances())
        {
            await env.UploadDicomAsync(instance);
        }

        return study;
    }

    [Fact]
    public async Task OneFailingDicomWebServer_TripsOnlyItsOwnBreaker_AStudyOnAnotherAllowedServerIsStillRetrieved()
    {
        await using var failing = await LoopbackHttpServer.StartAsync(context =>
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Task.CompletedTask;
        });
        var failingBase = new Uri(failing.BaseAddress, "dicom-web");
        await using var services = Services(failingBase.AbsoluteUri, env.DicomWebBaseUrl.AbsoluteUri);
        var client = services.GetRequiredService<DicomWebClient>();

        DicomWebException? open = null;
        for (var i = 0; i < 20 && open is null; i++)
        {
            var ex = await Assert.ThrowsAsync<DicomWebException>(() => client.SearchMrSeriesAsync(failingBase, "1.2.3", CancellationToken.None));
            open = ex.Message.Contains("circuit open", StringComparison.Ordinal) ? ex : null;
        }

        Assert.NotNull(open);
        Assert.Equal(DicomWebError.Unreachable, open.Error);
        Assert.Contains(failing.BaseAddress.GetLeftPart(UriPartial.Authority), open.Message, StringComparison.Ordinal);
        var asked = failing.Requests.Count;
        await Assert.ThrowsAsync<DicomWebException>(() => client.SearchMrSeriesAsync(failingBase, "1.2.3", CancellationToken.None));
        Assert.Equal(asked, failing.Requests.Count);

        // The other allowed server has its own breaker, closed: its study is read in full.
        var study = await UploadStudyAsync();
        var other = services.GetRequiredService<DicomWebClient>();
        var result = await other.LoadStudyAsync(new ImagingStudyReference(env.DicomWebBaseUrl, study.StudyInstanceUid, []),
            PhaseRules.Default, ImageInputSpec.Default, Reference, CancellationToken.None);
        Assert.True(result.IsAccepted, string.Join("; ", result.Refusals.Select(r => r.Detail)));
    }

    [Theory]
    [InlineData(301)]
    [InlineData(302)]
    [InlineData(303)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task DicomWebRedirectToANonAllowedHost_IsNotFollowed_AndIsAnErrorNamingTheStatus(int status)
    {
        await using var outside = await LoopbackHttpServer.StartAsync(async context =>
        {
            context.Response.ContentType = "application/dicom+json";
            await context.Response.WriteAsync("[]");
        });
        await using var redirecting = await LoopbackHttpServer.StartAsync(context =>
        {
            context.Response.StatusCode = status;
            context.Response.Headers.Location = new Uri(outside.BaseAddress, context.Request.Path.Value!.TrimStart('/') + context.Request.QueryString).AbsoluteUri;
            return Task.CompletedTask;
        });
        var allowed = new Uri(redirecting.BaseAddress, "dicom-web");
        await using var services = Services(allowed.AbsoluteUri);
        var client = services.GetRequiredService<DicomWebClient>();

        var ex = await Assert.ThrowsAsync<DicomWebException>(() => client.LoadStudyAsync(new ImagingStudyReference(allowed, "1.2.3.4", []),
            PhaseRules.Default, ImageInputSpec.Default, Reference, CancellationToken.None));
        Assert.Equal(DicomWebError.HttpError, ex.Error);
        Assert.Equal(status, ex.StatusCode);
        Assert.Contains($"redirect (HTTP {status})", ex.Message, StringComparison.Ordinal);
        Assert.NotEmpty(redirecting.Requests);
        Assert.Empty(outside.Requests);
    }

    /// <summary>A DICOMweb server that answers its queries at once, then sends each series one byte a second, for ever.</summary>
    private static Task<LoopbackHttpServer> DrippingServerAsync(string studyUid, string seriesUid) => LoopbackHttpServer.StartAsync(async context =>
    {
        var path = context.Request.Path.Value!;
        if (path.EndsWith("/studies", StringComparison.Ordinal) || path.EndsWith("/series", StringComparison.Ordinal))
        {
            context.Response.ContentType = "application/dicom+json";
            await context.Response.WriteAsync(
                $"[{{\"0020000D\":{{\"vr\":\"UI\",\"Value\":[\"{studyUid}\"]}},\"0020000E\":{{\"vr\":\"UI\",\"Value\":[\"{seriesUid}\"]}}}}]");
            return;
        }

        context.Response.Headers.ContentType = "multipart/related; type=\"application/dicom\"; boundary=drip";
        var head = Encoding.ASCII.GetBytes("--drip\r\nContent-Type: application/dicom\r\n\r\n");
        await context.Response.Body.WriteAsync(head, context.RequestAborted);
        try
        {
            while (!context.RequestAborted.IsCancellationRequested)
            {
                await context.Response.Body.WriteAsync("D"u8.ToArray(), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(1000, context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
        }
    });

    [Fact]
    public async Task DicomWebServerDrippingOneBytePerSecond_FailsItsJobAtTheDeadline_AndFreesTheSlotForAnotherStudy()
    {
        var dripStudy = NewStudyUid();
        await using var dripping = await DrippingServerAsync(dripStudy, dripStudy + ".1");
        var drippingBase = new Uri(dripping.BaseAddress, "dicom-web");
        using var factory = new ServiceFactory(env, new Dictionary<string, string?>
        {
            ["DicomWeb:AllowedServers:2"] = drippingBase.AbsoluteUri,
            ["DicomWeb:ReadIdleTimeoutSeconds"] = "30",
            ["Scoring:MaxConcurrency"] = "1",
            ["Scoring:JobDeadlineSeconds"] = "3",
            ["Scoring:RetryFailedAfterSeconds"] = "3600",
        });
        var coordinator = factory.Services.GetRequiredService<ScoringCoordinator>();
        var jobs = factory.Services.GetRequiredService<ScoringJobStore>();
        var model = factory.Services.GetRequiredService<PreScorer>().Card.Sha256;
        ScoringRequest Request(string studyUid, Uri server) => new()
        {
            StudyInstanceUid = studyUid,
            DicomWebBaseUrl = server.AbsoluteUri,
            ClinicalFeatures = ClinicalFeatureNames.All.ToDictionary(n => n, _ => (double?)null),
            ModelSha256 = model,
            ClinicalFeatureHash = new string('c', 64),
        };

        // The dripping study takes the only slot.
        var first = Assert.IsType<ScoringAttempt.Pending>(await coordinator.GetOrStartAsync(Request(dripStudy, drippingBase), TimeSpan.Zero, CancellationToken.None));
        for (var i = 0; i < 300 && !dripping.Requests.Any(r => r.PathAndQuery.Contains("/series/", StringComparison.Ordinal)); i++)
        {
            await Task.Delay(100);
        }

        Assert.Contains(dripping.Requests, r => r.PathAndQuery.Contains("/series/", StringComparison.Ordinal));

        // A legitimate study waits for that slot: it gets it once the dripping job has met its deadline, and is scored.
        var study = await UploadStudyAsync();
        var second = await coordinator.GetOrStartAsync(Request(study.StudyInstanceUid, env.DicomWebBaseUrl), TimeSpan.FromSeconds(120), CancellationToken.None);
        var completed = Assert.IsType<ScoringAttempt.Completed>(second);
        Assert.NotNull(completed.Outcome.Pre);

        var dripJob = await jobs.GetAsync(first.JobId, CancellationToken.None);
        Assert.Equal(ScoringJobState.Failed, dripJob!.State);
        Assert.Contains("Scoring:JobDeadlineSeconds (3 s)", dripJob.Error, StringComparison.Ordinal);
    }
}
