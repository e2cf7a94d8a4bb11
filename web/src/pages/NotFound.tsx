import { Heading } from '../components/Heading.tsx';
import { Link } from '../components/Link.tsx';

export function NotFound() {
  return (
    <>
      <Heading>Page not found</Heading>
      <p>
        There is nothing at this address. <Link to="/">Go to your lists</Link>.
      </p>
    </>
  );
}
