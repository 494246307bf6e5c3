using System.Text;
using System.Text.Json;
using CdsRisk.Api.Hooks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;

namespace CdsRisk.UnitTests.Hooks;

/// <summary>The hook body reader must read exactly what the standard JSON binding reads, and fail where it fails, naming the same path.</summary>
public sealed class CdsServiceRequestReaderTests
{
    private static readonly JsonSerializerOptions Options = CdsHooksJson.Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    private const string Full = """
        {"hook":"patient-view","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea","fhirServer":"https://ehr.example/fhir",
         "fhirAuthorization":{"access_token":"t","token_type":"Bearer","expires_in":300,"scope":"user/*.read","subject":"s"},
         "context":{"userId":"Practitioner/1","patientId":"p1","encounterId":"e1"},
         "prefetch":{"patient":{"resourceType":"Patient","id":"p1"},"conditions":null,"labs":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","valueQuantity":{"value":1.5e0}}}]}},
         "extension":{"com.example":{"x":[1,2]}},"unknown":{"deep":[{"a":null}]}}
        """;

    public static TheoryData<string> Bodies => new()
    {
        Full,
        """{"hook":"patient-view"}""",
        """{"hook":null,"prefetch":null,"extension":null}""",
        """{"prefetch":{}}""",
        """{"prefetch":{"a":{"resourceType":"Patient"},"a":{"resourceType":"Bundle"}}}""",
        """{"hook":"first","hook":"second"}""",
        """{"ho\u006fk":"escaped","prefetch":{"p\u0061tient":{"resourceType":"Patient"}}}""",
        """{"Hook":"wrong case is unknown","PREFETCH":5}""",
        """{"context":{"userId":"Practitioner/1","patientId":"p1","selections":["ServiceRequest/1"],"draftOrders":{"resourceType":"Bundle","entry":[]}}}""",
        """{"prefetch":{"x":1,"y":"s","z":[]}}""",
        """{"hook":5}""",
        """{"hookInstance":{}}""",
        """{"fhirServer":[]}""",
        """{"prefetch":5}""",
        """{"prefetch":[]}""",
        """{"prefetch":"x"}""",
        """{"context":"x"}""",
        """{"context":{"selections":"x"}}""",
        """{"fhirAuthorization":{"expires_in":"soon"}}""",
        """{"fhirAuthorization":{"expires_in":1e999}}""",
        """{"hook":"patient-view",}""",
        """{"hook":"patient-view" /* comment */}""",
        """{"hook":"patient-view\ud800"}""",
        """{"hook":"patient-view""",
        """{"prefetch":{"patient":{"resourceType":"Patient"}""",
        """[]""",
        """"text"""",
        """17""",
        """{} {}""",
        new string('[', 70) + new string(']', 70),
        "{\"prefetch\":{\"deep\":" + new string('[', 70) + new string(']', 70) + "}}",
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task ReadsWhatTheStandardBindingReads_OrFailsAtTheSamePath(string body)
    {
        CdsServiceRequest? expected = null;
        JsonException? expectedError = null;
        try
        {
            expected = JsonSerializer.Deserialize<CdsServiceRequest>(body, Options);
        }
        catch (JsonException ex)
        {
            expectedError = ex;
        }

        if (expectedError is null)
        {
            var actual = await CdsServiceRequestReader.ReadAsync(Context(body));
            Assert.Equal(JsonSerializer.Serialize(expected, Options), JsonSerializer.Serialize(actual, Options));
            Assert.Equal(expected?.Prefetch?.Keys.Order(), actual?.Prefetch?.Keys.Order());
        }
        else
        {
            var bad = await Assert.ThrowsAsync<BadHttpRequestException>(() => CdsServiceRequestReader.ReadAsync(Context(body)).AsTask());
            Assert.Equal(StatusCodes.Status400BadRequest, bad.StatusCode);
            Assert.Equal(expectedError.Path, Assert.IsAssignableFrom<JsonException>(bad.InnerException).Path);
        }
    }

    [Fact]
    public async Task PrefetchValues_AreTheBytesAsSent()
    {
        var request = await CdsServiceRequestReader.ReadAsync(Context(Full));

        var labs = request!.Prefetch!["labs"]!.Value;
        Assert.Equal("""{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","valueQuantity":{"value":1.5e0}}}]}""",
            Encoding.UTF8.GetString(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(labs)));
        Assert.Null(request.Prefetch["conditions"]);
    }

    [Fact]
    public async Task ANonJsonBody_Is415_AndAnEmptyOne400()
    {
        var text = Context("hook=patient-view", "text/plain");
        Assert.Equal(415, (await Assert.ThrowsAsync<BadHttpRequestException>(() => CdsServiceRequestReader.ReadAsync(text).AsTask())).StatusCode);

        var empty = Context("");
        Assert.Equal(400, (await Assert.ThrowsAsync<BadHttpRequestException>(() => CdsServiceRequestReader.ReadAsync(empty).AsTask())).StatusCode);
    }

    [Fact]
    public async Task JsonNull_IsNoRequest()
    {
        Assert.Null(await CdsServiceRequestReader.ReadAsync(Context("null")));
    }

    private static DefaultHttpContext Context(string body, string contentType = "application/json; charset=utf-8")
    {
        var services = new ServiceCollection();
        services.Configure<JsonOptions>(o => CdsHooksJson.Configure(o.SerializerOptions));
        var bytes = Encoding.UTF8.GetBytes(body);
        var context = new DefaultHttpContext { RequestServices = services.BuildServiceProvider() };
        context.Request.ContentType = contentType;
        context.Request.ContentLength = bytes.Length;
        context.Request.Body = new MemoryStream(bytes);
        return context;
    }
}
