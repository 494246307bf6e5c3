using System.Text;
using CdsRisk.Api.Hooks;

namespace CdsRisk.UnitTests.Hooks;

/// <summary>Issue 13 item 20: invalid UTF-8 anywhere in a hook body is CDSR-1001 naming the member and the byte.</summary>
public sealed class Utf8BodyTests
{
    private static byte[] WithBadByte(string before, string after, byte bad = 0xFF) => [.. Encoding.UTF8.GetBytes(before), bad, .. Encoding.UTF8.GetBytes(after)];

    [Fact]
    public void ValidUtf8_IsAccepted() =>
        Utf8Body.EnsureValid(Encoding.UTF8.GetBytes("""{"prefetch":{"labs":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","code":{"text":"Ærø µg/L ≥ 5 🧪"}}}]}}}"""));

    [Fact]
    public void InvalidUtf8InsidePrefetch_NamesTheKey_ThePath_AndTheOffset()
    {
        const string before = """{"hook":"patient-view","prefetch":{"patient":{"resourceType":"Patient","id":"p1"},"labs":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","code":{"text":"AFP""";
        var body = WithBadByte(before, "\"}}}]}}}");

        var e = Assert.Throws<CdsRiskException>(() => Utf8Body.EnsureValid(body));

        Assert.Equal("CDSR-1001", e.Error.Code);
        var (field, messages) = Assert.Single(e.Errors!);
        Assert.Equal("prefetch.labs", field);
        Assert.Contains($"byte {Encoding.UTF8.GetByteCount(before)}", messages[0], StringComparison.Ordinal);
        Assert.Contains("prefetch.labs.entry[0].resource.code.text", messages[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0xC3, "\"}}")] // a lead byte with no continuation
    [InlineData(0x80, "\"}}")] // a lone continuation byte
    [InlineData(0xED, "\u00A0\u0080\"}}")] // the start of an encoded surrogate (ED A0 80)
    [InlineData(0xC0, "\u00AF\"}}")] // an overlong encoding of '/'
    public void EachKindOfBrokenSequence_IsFound(byte bad, string after)
    {
        var tail = after.Select(c => (byte)c).ToArray(); // raw bytes, not UTF-8 encoded, to build exactly the sequence
        var body = (byte[])[.. Encoding.UTF8.GetBytes("""{"prefetch":{"conditions":{"resourceType":"Condition","note":"x"""), bad, .. tail];

        var e = Assert.Throws<CdsRiskException>(() => Utf8Body.EnsureValid(body));

        Assert.Equal("prefetch.conditions", Assert.Single(e.Errors!).Key);
    }

    [Fact]
    public void InvalidUtf8OutsidePrefetch_NamesTheMember()
    {
        var e = Assert.Throws<CdsRiskException>(() => Utf8Body.EnsureValid(WithBadByte("""{"context":{"userId":"Practitioner/1","patientId":"p""", "\"}}")));

        Assert.Equal("context.patientId", Assert.Single(e.Errors!).Key);
    }

    [Fact]
    public void InvalidUtf8InAPropertyName_NamesItsParent()
    {
        var e = Assert.Throws<CdsRiskException>(() => Utf8Body.EnsureValid(WithBadByte("""{"prefetch":{"la""", "bs\":null}}")));

        Assert.Equal("prefetch.?", Assert.Single(e.Errors!).Key);
    }

    [Fact]
    public void InvalidUtf8OutsideAnyMember_IsTheBody()
    {
        var e = Assert.Throws<CdsRiskException>(() => Utf8Body.EnsureValid(WithBadByte("", "{}")));

        Assert.Equal("body", Assert.Single(e.Errors!).Key);
    }
}
