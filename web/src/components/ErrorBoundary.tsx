import { Component, type ErrorInfo, type ReactNode } from 'react';
import { AppContext } from '../context.ts';
import { routeTemplate, parseRoute } from '../lib/router.ts';

interface State {
  error: Error | null;
}

/** A render error: reported like any uncaught error, and the rest of the app keeps working. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, State> {
  static contextType = AppContext;
  declare context: React.ContextType<typeof AppContext>;
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidUpdate(prev: { resetKey: string }): void {
    // Another page: try rendering again (without remounting pages that stay, such as a list's tabs).
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    this.context?.telemetry.record({
      type: 'error',
      page: routeTemplate(parseRoute(location.pathname)),
      message: error.message,
      error_type: error.name,
      stack: `${error.stack ?? ''}\n--- component stack ---${info.componentStack ?? ''}`,
    });
  }

  render(): ReactNode {
    if (!this.state.error) return this.props.children;
    return (
      <div className="error-panel" role="alert">
        <p className="error-title">Something went wrong on this page.</p>
        <p>It has been reported. Your data on the server is safe.</p>
        <button type="button" onClick={() => location.reload()}>
          Reload the page
        </button>
      </div>
    );
  }
}
