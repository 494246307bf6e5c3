using System.Text;
using CdsRisk.Api.Hooks;

namespace CdsRisk.UnitTests.Hooks;

/// <summary>The quick look at a hook body (where hookInstance and fhirAuthorization lie) against a full JSON reading.</summary>
public sealed class HookBodyShapeTests
{
    private const string Instance = "\"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea\"";
    private const string Authorization = """{"access_token":"t}\"{[","token_type":"Bearer","expires_in":300,"scope":"a b","subject":"s"}""";

    public static TheoryData<string> Readable => new()
    {
        """{"hook":"patient-view","hookInstance":""" + Instance + ""","fhirServer":"https://ehr.example/fhir","fhirAuthorization":""" + Authorization + ""","context":{"patientId":"p1"},"prefetch":{"patient":{"resourceType":"Patient","id":"p1"}}}""",
        $$$"""{"prefetch":{"patient":{"resourceType":"Patient","name":[{"text":"a \"quoted\" {brace} [bracket] \\ end"}]},"n":null},"fhirAuthorization":{{{Authorization}}},"hookInstance":{{{Instance}}}}""",
        $$$"""  {  "hookInstance" :  {{{Instance}}} , "fhirAuthorization" : null , "x" : [1, -2.5e3, true, false, null, {"a":[[]]}] }  """,
        $$$"""{"hookInstance":{{{Instance}}}}""",
        $$$"""{"hook":"patient-view","numbers":[0,1e9],"hookInstance":{{{Instance}}},"context":{"patientId":"p1"}}""",
        "{\r\n\t\"hookInstance\":\r\n" + Instance + ",\r\n\t\"fhirAuthorization\":\r\n" + Authorization + "\r\n}\r\n",
    };

    [Theory]
    [MemberData(nameof(Readable))]
    public void TheQuickLook_FindsWhatAFullReadingFinds(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);

        Assert.True(HookBodyShape.TryFind(body, out var quick));
        Assert.Equal(HookBodyShape.TryLocate(body, 64), quick);
        Assert.Equal(Instance, Encoding.UTF8.GetString(body[quick.Instance.Start..quick.Instance.End]));
        if (quick.Authorization is { } authorization)
        {
            Assert.Contains(Encoding.UTF8.GetString(body[authorization.Start..authorization.End]), new[] { Authorization, "null" });
        }
    }

    [Theory]
    [MemberData(nameof(Readable))]
    public void TheRest_IsTheBodyWithoutTheTwoValues(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        Assert.True(HookBodyShape.TryFind(body, out var shape));

        var ranges = new Range[3];
        var count = shape.Rest(body.Length, ranges);
        var rest = string.Concat(ranges[..count].Select(r => Encoding.UTF8.GetString(body[r])));

        // Each value is the first of its text after its member's name.
        static string Without(string text, string member, string value)
        {
            var at = text.IndexOf(value, text.IndexOf(member, StringComparison.Ordinal), StringComparison.Ordinal);
            return text.Remove(at, value.Length);
        }

        var expected = Without(json, "\"hookInstance\"", Instance);
        if (shape.Authorization is { } a)
        {
            expected = Without(expected, "\"fhirAuthorization\"", Encoding.UTF8.GetString(body[a.Start..a.End]));
        }

        Assert.Equal(shape.Authorization is null ? 2 : 3, count);
        Assert.Equal(expected, rest);
    }

    public static TheoryData<string> NotLocated => new()
    {
        """{"hook":"patient-view"}""",
        """{"hookInstance":17}""",
        """{"hookInstance":null}""",
        $$$"""{"hookInstance":{{{Instance}}},"hookInstance":{{{Instance}}}}""",
        $$$"""{"hookInstance":{{{Instance}}},"fhirAuthorization":null,"prefetch":{},"fhirAuthorization":null}""",
        $$$"""{"hookInstance":{{{Instance}}},"prefetch":{"a":1}""",
        $$$"""{"hookInstance":{{{Instance}}}} trailing""",
        $$$"""[{"hookInstance":{{{Instance}}}}]""",
        $$$"""{"hookInstance":{{{Instance}}},}""",
        "",
        "{",
        "{\"hookInstance\":\"unterminated",
        "{\"deep\":" + new string('[', 70) + new string(']', 70) + ",\"hookInstance\":" + Instance + "}",
    };

    [Theory]
    [MemberData(nameof(NotLocated))]
    public void ABodyWithoutExactlyOneStringHookInstance_IsNotLocated(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);

        Assert.Null(HookBodyShape.TryLocate(body, 64));
    }

    [Fact]
    public void AnEscapedMemberName_StopsTheQuickLook()
    {
        // "hook\u0049nstance" is hookInstance to a JSON reader; the quick look does not unescape, so it gives up instead.
        var body = Encoding.UTF8.GetBytes($$$"""{"hook\u0049nstance":{{{Instance}}}}""");

        Assert.False(HookBodyShape.TryFind(body, out _));
        Assert.NotNull(HookBodyShape.TryLocate(body, 64));
    }

    [Fact]
    public void TheQuickLook_StopsOnceBothValuesAreFound_LeavingTheRestToTheByteComparison()
    {
        // What follows the two values is not looked at (here: not even JSON), which is why a body is only ever recognised when
        // those bytes equal a body that a full reading located (HookAnswerMemo.TryRecall).
        var body = Encoding.UTF8.GetBytes("""{"hookInstance":""" + Instance + ""","fhirAuthorization":null,"prefetch":{{{""");

        Assert.True(HookBodyShape.TryFind(body, out _));
        Assert.Null(HookBodyShape.TryLocate(body, 64));
    }
}
