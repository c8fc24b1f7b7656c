using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Relay.Api.Health;

/// <summary>
/// Remembers APNs configuration faults (a bad key, a forbidden topic) so readiness reports them until APNs accepts
/// a push again.
/// </summary>
public sealed class ApnsHealth(TimeProvider time) : IHealthCheck
{
    private volatile Fault? _fault;

    public void ReportFault(string reason, string topic) => _fault = new Fault(reason, topic, time.GetUtcNow());

    public void ReportSuccess()
    {
        if (_fault is not null)
        {
            _fault = null;
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_fault is { } fault
            ? HealthCheckResult.Degraded(
                $"APNs rejected the relay's configuration: {fault.Reason} for topic {fault.Topic} at {fault.At:O}.",
                data: new Dictionary<string, object> { ["reason"] = fault.Reason, ["topic"] = fault.Topic, ["at"] = fault.At })
            : HealthCheckResult.Healthy());

    private sealed record Fault(string Reason, string Topic, DateTimeOffset At);
}
