using System.Net;
using System.Text;
using CdsRisk.Api.DicomWeb;
using CdsRisk.Core.Imaging;
using CdsRisk.Dicom.Synthetic;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.DicomWeb;

public sealed class DicomWebClientTests
{
    private static readonly Uri Server = new("https://pacs.example.org/dicom-web");

    /// <summary>Answers every request with the given function and records what was asked.</summary>
    private sealed class FakeServer(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public List<HttpRequestMessage> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            return System.Threading.Tasks.Task.FromResult(answer(request));
        }
    }

    private static DicomWebClient Client(FakeServer server, string? authorization = null) =>
        new(new HttpClient(server), Options.Create(new DicomWebOptions { AllowedServers = [Server.AbsoluteUri], AuthorizationHeader = authorization }),
            Options.Create(PhaseRules.Default), NullLogger<DicomWebClient>.Instance);

    private static HttpResponseMessage Multipart(IEnumerable<byte[]> parts, string contentType, bool partLengths)
    {
        const string boundary = "cdsrisk a1b2:c3d4";
        using var body = new MemoryStream();
        foreach (var part in parts)
        {
            var headers = $"--{boundary}\r\nContent-Type: application/dicom\r\n{(partLengths ? $"Content-Length: {part.Length}\r\n" : "")}\r\n";
            body.Write(Encoding.ASCII.GetBytes(headers));
            body.Write(part);
            body.Write("\r\n"u8);
        }

        body.Write(Encoding.ASCII.GetBytes($"--{boundary}--\r\n"));
        var content = new StreamContent(new MemoryStream(body.ToArray()));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType.Replace("{b}", boundary));
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }

    [Theory]
    [InlineData(true, "multipart/related; type=\"application/dicom\"; boundary=\"{b}\"")]
    [InlineData(false, "multipart/related; type=\"application/dicom\"; boundary=\"{b}\"")]
    [InlineData(false, "multipart/related; boundary=\"{b}\"; type=\"application/dicom; transfer-syntax=1.2.840.10008.1.2.1\"")]
    public async System.Threading.Tasks.Task Series_IsStreamedFromMultipart_WithQuotedParameters_WithAndWithoutPartLengths(bool partLengths, string contentType)
    {
        var study = new SyntheticMrStudy { Slices = 3 };
        var parts = Enumerable.Range(0, 3).Select(z => study.Instance(1, z)).ToList();
        var server = new FakeServer(_ => Multipart(parts, contentType, partLengths));

        var files = new List<CdsRisk.Dicom.DicomFile>();
        await foreach (var (file, error) in Client(server).RetrieveSeriesAsync(Server, study.StudyInstanceUid, study.SeriesUid(1), CancellationToken.None))
        {
            Assert.Null(error);
            files.Add(file!);
        }

        Assert.Equal(3, files.Count);
        Assert.Equal(parts[2].Length, files[2].Source.Length);
        var request = Assert.Single(server.Requests);
        Assert.Equal($"https://pacs.example.org/dicom-web/studies/{study.StudyInstanceUid}/series/{study.SeriesUid(1)}", request.RequestUri!.AbsoluteUri);
        Assert.Equal(DicomWebClient.SeriesAccept, string.Join(",", request.Headers.GetValues("Accept")));
    }

    [Fact]
    public async System.Threading.Tasks.Task CorruptPart_IsYieldedAsTypedReaderError_NotThrown()
    {
        var server = new FakeServer(_ => Multipart([new byte[200]], "multipart/related; type=\"application/dicom\"; boundary=\"{b}\"", true));
        var results = new List<(CdsRisk.Dicom.DicomFile?, CdsRisk.Dicom.DicomReadException?)>();
        await foreach (var item in Client(server).RetrieveSeriesAsync(Server, "1.2.3", "1.2.3.4", CancellationToken.None))
        {
            results.Add(item);
        }

        var (file, error) = Assert.Single(results);
        Assert.Null(file);
        Assert.NotNull(error);
    }

    [Fact]
    public async System.Threading.Tasks.Task NonMultipartAnswer_IsAnInvalidResponse()
    {
        var server = new FakeServer(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{}", Encoding.UTF8, "application/json") });
        var ex = await Assert.ThrowsAsync<DicomWebException>(async () =>
        {
            await foreach (var _ in Client(server).RetrieveSeriesAsync(Server, "1.2.3", "1.2.3.4", CancellationToken.None))
            {
            }
        });
        Assert.Equal(DicomWebError.InvalidResponse, ex.Error);
        Assert.Equal("1.2.3.4", ex.SeriesInstanceUid);
    }

    [Fact]
    public async System.Threading.Tasks.Task OnlyTheConfiguredAuthorizationIsSent()
    {
        var server = new FakeServer(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("[]", Encoding.UTF8, "application/dicom+json") });
        await Client(server).SearchMrSeriesAsync(Server, "1.2.3", CancellationToken.None);
        await Client(server, "Basic dXNlcjpwYXNz").SearchMrSeriesAsync(Server, "1.2.3", CancellationToken.None);

        Assert.False(server.Requests[0].Headers.Contains("Authorization"));
        Assert.Equal("Basic dXNlcjpwYXNz", string.Join("", server.Requests[1].Headers.GetValues("Authorization")));
        Assert.EndsWith("/studies/1.2.3/series?Modality=MR&includefield=0008103E", server.Requests[0].RequestUri!.AbsoluteUri);
    }

    [Fact]
    public async System.Threading.Tasks.Task QidoAnswer_GivesSeriesUidsAndDescriptions()
    {
        const string json = """[{"0020000E":{"vr":"UI","Value":["1.2.3.4"]},"0008103E":{"vr":"LO","Value":["T1 PRE"]}},{"0020000E":{"vr":"UI","Value":["1.2.3.5"]}}]""";
        var server = new FakeServer(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/dicom+json") });
        var series = await Client(server).SearchMrSeriesAsync(Server, "1.2.3", CancellationToken.None);
        Assert.Equal([("1.2.3.4", "T1 PRE"), ("1.2.3.5", null)], series);
    }

    [Theory]
    [InlineData("https://pacs.example.org/dicom-web", true)]
    [InlineData("https://pacs.example.org/dicom-web/studies", true)]
    [InlineData("https://PACS.example.org/dicom-web/", true)]
    [InlineData("https://pacs.example.org/dicom-web-evil", false)]
    [InlineData("http://pacs.example.org/dicom-web", false)]
    [InlineData("https://pacs.example.org:8443/dicom-web", false)]
    [InlineData("https://pacs.example.org.evil.com/dicom-web", false)]
    [InlineData("https://user@pacs.example.org/dicom-web", false)]
    public void AllowList_ComparesParsedUris(string server, bool allowed) =>
        Assert.Equal(allowed, DicomWebServerPolicy.IsAllowed(new Uri(server), ["https://pacs.example.org/dicom-web"]));

    [Fact]
    public void ImagingStudy_GivesEndpointStudyUidAndMrSeries()
    {
        var study = new ImagingStudy
        {
            Identifier = [new Identifier("urn:dicom:uid", "urn:oid:1.2.840.1.5")],
            Endpoint = [new ResourceReference("#wado")],
            Contained = [new Endpoint { Id = "wado", ConnectionType = new Coding("http://terminology.hl7.org/CodeSystem/endpoint-connection-type", "dicom-wado-rs"), Address = "https://pacs.example.org/dicom-web" }],
            Series =
            [
                new ImagingStudy.SeriesComponent { Uid = "1.2.840.1.5.1", Modality = new Coding("http://dicom.nema.org/resources/ontology/DCM", "MR") },
                new ImagingStudy.SeriesComponent { Uid = "1.2.840.1.5.2", Modality = new Coding("http://dicom.nema.org/resources/ontology/DCM", "CT") },
            ],
        };
        var reference = ImagingStudyReference.FromFhir(study);
        Assert.Equal("1.2.840.1.5", reference.StudyInstanceUid);
        Assert.Equal(new Uri("https://pacs.example.org/dicom-web"), reference.BaseUrl);
        Assert.Equal(["1.2.840.1.5.1"], reference.SeriesInstanceUids);

        var noUid = new ImagingStudy { Identifier = [new Identifier("urn:dicom:uid", "1.2.3")] };
        Assert.Equal(DicomWebError.NoStudyUid, Assert.Throws<DicomWebException>(() => ImagingStudyReference.FromFhir(noUid)).Error);
    }

    [Fact]
    public void PhaseRules_BindFromImagingSection_AddingSiteKeywordsToTheDefaults()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Imaging:PhaseRules:ArterialKeywords:0"] = "arteriell",
            ["Imaging:PhaseRules:MinSlices"] = "40",
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddDicomWeb(configuration).BuildServiceProvider();
        var rules = services.GetRequiredService<IOptions<PhaseRules>>().Value;
        Assert.Equal(40, rules.MinSlices);
        Assert.Contains("arteriell", rules.ArterialKeywords);
        Assert.Contains("arterial", rules.ArterialKeywords);
    }

    [Fact]
    public void BadConfiguration_FailsAtStartNamingTheKey()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DicomWeb:BaseUrl"] = "https://other.example.org/dicom-web",
            ["DicomWeb:AllowedServers:0"] = "https://pacs.example.org/dicom-web",
        }).Build();
        using var services = new ServiceCollection().AddLogging().AddDicomWeb(configuration).BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<DicomWebOptions>>().Value);
        Assert.Contains("DicomWeb:BaseUrl is not on DicomWeb:AllowedServers", ex.Message);
    }

    [Fact]
    public async System.Threading.Tasks.Task Http500_IsNotRetried_ButHttp503Is()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DicomWeb:AllowedServers:0"] = Server.AbsoluteUri,
            ["DicomWeb:MaxRetries"] = "2",
        }).Build();
        foreach (var (status, expectedCalls) in new[] { (HttpStatusCode.InternalServerError, 1), (HttpStatusCode.ServiceUnavailable, 3) })
        {
            var server = new FakeServer(_ => new HttpResponseMessage(status));
            var services = new ServiceCollection().AddLogging().AddDicomWeb(configuration);
            services.AddHttpClient<DicomWebClient>().ConfigurePrimaryHttpMessageHandler(() => server);
            using var provider = services.BuildServiceProvider();
            var client = provider.GetRequiredService<DicomWebClient>();
            var ex = await Assert.ThrowsAsync<DicomWebException>(() => client.SearchMrSeriesAsync(Server, "1.2.3", CancellationToken.None));
            Assert.Equal((int)status, ex.StatusCode);
            Assert.Equal(expectedCalls, server.Requests.Count);
        }
    }
}
