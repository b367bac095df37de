{if $error}
<div class="alert alert-warning">{$error|escape}</div>
{else}
<table class="table">
  <tr><th>Username</th><td>{$username|escape}</td></tr>
  <tr><th>Password</th><td><code>{$password|escape}</code></td></tr>
  <tr><th>Status</th><td>{$status|escape}</td></tr>
  <tr><th>Expires</th><td>{$expires_at|escape}</td></tr>
</table>
{/if}
