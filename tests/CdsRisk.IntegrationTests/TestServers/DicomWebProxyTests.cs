using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace CdsRisk.IntegrationTests.TestServers;

[Collection("servers")]
public sealed class DicomWebProxyTests(TestEnvironment env)
{
    private async Task<(string StudyUid, string SeriesUid)> UploadSeriesAsync(int slices, int size)
    {
        var patientId = "proxy-" + Guid.NewGuid().ToString("N")[..8];
        var studyUid = SyntheticDicom.NewUid();
        var seriesUid = SyntheticDicom.NewUid();
        for (var i = 1; i <= slices; i++)
        {
            await env.UploadDicomAsync(SyntheticDicom.MrSlice(patientId, studyUid, seriesUid, i, rows: size, columns: size));
        }

        return (studyUid, seriesUid);
    }

    private static HttpRequestMessage WadoSeries(Uri baseUrl, string studyUid, string seriesUid)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"{baseUrl}/studies/{studyUid}/series/{seriesUid}"));
        request.Headers.TryAddWithoutValidation("Accept", "multipart/related; type=\"application/dicom\"");
        return request;
    }

    [Fact]
    public async Task Proxy_PassesRequestsThrough_AndOrthancUrlsPointAtTheProxy()
    {
        var (studyUid, _) = await UploadSeriesAsync(1, 8);
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/dicom+json"));
        var studies = JsonNode.Parse(await client.GetStringAsync(new Uri($"{env.DicomWebProxyBaseUrl}/studies?StudyInstanceUID={studyUid}")))!.AsArray();
        var retrieveUrl = (string?)Assert.Single(studies)!["00081190"]!["Value"]![0];
        Assert.StartsWith(env.DicomWebProxyBaseUrl.ToString().TrimEnd('/'), retrieveUrl, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Proxy_Truncate_CutsAMultipartSeriesShort()
    {
        var (studyUid, seriesUid) = await UploadSeriesAsync(4, 64);
        using var client = new HttpClient();
        using (var whole = await client.SendAsync(WadoSeries(env.DicomWebProxyBaseUrl, studyUid, seriesUid)))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
            Assert.True((await whole.Content.ReadAsByteArrayAsync()).Length > 4 * 64 * 64 * 2);
        }

        await env.SetDicomWebFaultAsync("truncate", count: 1, pathPrefix: $"/dicom-web/studies/{studyUid}", truncateAfterBytes: 1000);
        // Either the read fails outright or it ends early: both are a cut-short multipart body.
        var error = await Record.ExceptionAsync(async () =>
        {
            using var cut = await client.SendAsync(WadoSeries(env.DicomWebProxyBaseUrl, studyUid, seriesUid));
            var bytes = await cut.Content.ReadAsByteArrayAsync();
            Assert.True(bytes.Length <= 1000, $"got {bytes.Length} bytes");
        });
        Assert.True(error is null or HttpRequestException or IOException, error?.ToString());

        using var again = await client.SendAsync(WadoSeries(env.DicomWebProxyBaseUrl, studyUid, seriesUid));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task Proxy_Answers500_ForCountedRequests_AndLeavesOrthancItselfAlone()
    {
        var (studyUid, seriesUid) = await UploadSeriesAsync(1, 8);
        var prefix = $"/dicom-web/studies/{studyUid}";
        await env.SetDicomWebFaultAsync("500", count: 1, pathPrefix: prefix);
        using var client = new HttpClient();
        using (var direct = await client.SendAsync(WadoSeries(env.DicomWebBaseUrl, studyUid, seriesUid)))
        {
            Assert.Equal(HttpStatusCode.OK, direct.StatusCode);
        }

        using (var failed = await client.SendAsync(WadoSeries(env.DicomWebProxyBaseUrl, studyUid, seriesUid)))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        }

        using var ok = await client.SendAsync(WadoSeries(env.DicomWebProxyBaseUrl, studyUid, seriesUid));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task Proxy_RejectsFaultChanges_WithoutTheAdminToken()
    {
        using var client = new HttpClient();
        var admin = new Uri(env.DicomWebProxyBaseUrl, "/__admin/fault");
        using var response = await client.PostAsync(admin, new StringContent("""{"mode":"500"}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
